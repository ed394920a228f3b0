/**
 * The carrier as its own process, reached by command and reply over RabbitMQ (CARRIER=broker; docs/sagas.md, "The
 * carrier over the broker"), against the real servers: the Temporal dev server, FerretDB and the RabbitMQ that
 * `npm test` started. The carrier is the real entry point (bootstrap/carrier-main.ts) run as a child process, so it
 * can be stopped and killed; the saga workers are the harness's, with the broker carrier (each harness its own
 * command queue and, by its task queue, its own reply queue).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import type { temporal } from '@temporalio/proto';
import { carrierCommandHandler } from '../../activities/carrier/apply-command';
import { createShipmentActivities } from '../../activities/participants/shipments';
import { CarrierHeader, carrierReplyQueue, CarrierMessageType } from '../../common/carrier';
import { ConfigError, loadConfig } from '../../common/config';
import { getStateQuery } from '../../common/definitions';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { repoRoot, spawnManaged, type ManagedProcess } from '../../scripts/lib/servers';
import { waitForLogLine } from '../../scripts/lib/processes';
import { waitFor } from '../../scripts/lib/wait';
import { addVehicle, orderBody, seed, snapshot } from '../support/fixtures';
import {
  decodePayload,
  executedActivities,
  http,
  requireEnv,
  servedCountries,
  startHarness,
  waitForSaga,
  type Harness,
} from '../support/harness';
import { sagaResult } from '../../common/saga-result';

const id = randomUUID().slice(0, 8);
let h: Harness;
/** A worker that waits briefly for the carrier: 2 s an attempt, 2 attempts (CARRIER_REPLY_TIMEOUT_SECONDS/_ATTEMPTS). */
let short: Harness;
let amqp: ChannelModel;
let channel: Channel;
const carriers: ManagedProcess[] = [];
let dateCounter = 0;
const nextDate = () => `2027-04-${String(++dateCounter).padStart(2, '0')}`;

beforeAll(async () => {
  // Generous for every test that expects the carrier to answer: a slow, shared machine must never time out here.
  h = await startHarness('carrier', {
    carrier: { commandQueue: `test.carrier.${id}`, replyTimeoutSeconds: 180, attempts: 3 },
  });
  short = await startHarness('carrier_short', {
    carrier: { commandQueue: `test.carrier.short.${id}`, replyTimeoutSeconds: 2, attempts: 2 },
  });
  await addVehicle(h, 100);
  await addVehicle(short, 100);
  amqp = await amqplib.connect(requireEnv('AMQP_URL'));
  channel = await amqp.createChannel();
}, 120_000);

afterEach(async () => {
  for (const carrier of carriers.splice(0)) await carrier.stop();
}, 60_000);

afterAll(async () => {
  for (const name of [`test.carrier.${id}`, `test.carrier.short.${id}`]) {
    await channel?.deleteQueue(name).catch(() => undefined);
  }
  await amqp?.close();
  await h?.stop();
  await short?.stop();
}, 60_000);

/** The carrier process (bootstrap/carrier-main.ts) for harness `of`, once it consumes; `env` adds variables. */
async function startCarrier(of: Harness, commandQueue: string, env: NodeJS.ProcessEnv = {}): Promise<ManagedProcess> {
  const proc = spawnManaged('carrier', process.execPath, ['--import', 'tsx', 'bootstrap/carrier-main.ts'], {
    env: {
      ...process.env,
      MONGODB_DB: of.db.databaseName,
      CARRIER_COMMAND_QUEUE: commandQueue,
      SERVED_COUNTRIES: servedCountries.join(','),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...env,
    },
    logFile: path.join(repoRoot, '.data', 'logs', `test-carrier-${id}-${carriers.length}.log`),
    truncateLog: true,
  });
  carriers.push(proc);
  await waitForLogLine(proc, 'Carrier consuming commands', 90_000);
  return proc;
}

const commandQueueOf = (of: Harness) => (of === h ? `test.carrier.${id}` : `test.carrier.short.${id}`);
const messagesIn = async (queue: string) => (await channel.checkQueue(queue)).messageCount;

async function startOrder(of: Harness, body: ReturnType<typeof orderBody>) {
  const started = await http(of.baseUrl, 'POST', '/orders', body);
  expect(started.status).toBe(202);
  return of.client.workflow.getHandle(orderWorkflowId(body.orderId));
}

/** What the createShipmentByCommand activity completed with (the reply, as the workflow received it). */
async function shipmentResult(of: Harness, orderId: string): Promise<unknown> {
  const history: temporal.api.history.v1.IHistory = await of.client.workflow
    .getHandle(orderWorkflowId(orderId))
    .fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'createShipmentByCommand',
  );
  const completed = events.find(
    (e) =>
      scheduled?.eventId != null &&
      String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId),
  );
  const payload = completed?.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
  return payload ? decodePayload(payload) : undefined;
}

const shipmentOf = (of: Harness, orderId: string) =>
  of.cols.shipments.findOne({ _id: `${orderWorkflowId(orderId)}:createShipment` });

describe('the carrier reached over the broker (CARRIER=broker)', () => {
  test('an order completes through the carrier process, and its shipment exists once', async () => {
    await startCarrier(h, commandQueueOf(h));
    const s = await seed(h);
    const body = orderBody(s, { deliveryDate: nextDate() });

    const state = await waitForSaga<OrderState>(await startOrder(h, body));

    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect(state.steps.find((x) => x.name === 'createShipment')).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    expect(await shipmentOf(h, body.orderId)).toMatchObject({ status: 'CREATED', orderId: body.orderId });
    // The choice is recorded at the start (a local activity), the step is a regular, asynchronously completed one.
    const executed = await executedActivities(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
    expect(executed[0]).toEqual({ name: 'chooseCarrier', local: true });
    expect(executed).toContainEqual({ name: 'createShipmentByCommand', local: false });
    expect(executed.map((a) => a.name)).not.toContain('createShipment');
    expect(await shipmentResult(h, body.orderId)).toEqual({ value: 'applied', attempt: 1 });
    expect(await messagesIn(commandQueueOf(h))).toBe(0);
    expect(await messagesIn(carrierReplyQueue(h.taskQueue))).toBe(0);
  });

  test('a refusal by the carrier is the step business failure: no retry, the started steps are undone', async () => {
    await startCarrier(h, commandQueueOf(h));
    const s = await seed(h);
    const date = nextDate();
    const before = await snapshot(h, s, date);
    const body = orderBody(s, { country: 'AQ', deliveryDate: date });

    const state = await waitForSaga<OrderState>(await startOrder(h, body));

    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.failure).toMatchObject({ step: 'createShipment', type: 'ShipmentRejected' });
    expect(state.steps.find((x) => x.name === 'createShipment')).toMatchObject({ attempts: 1 });
    expect(state.steps.filter((x) => x.compensation).every((x) => x.status === 'COMPENSATED')).toBe(true);
    const after = await snapshot(h, s, date, body.orderId);
    expect(after).toEqual({ ...before, chargedCents: 0, liveShipments: 0 });
  });

  test('a reply that arrives while no worker runs is not lost: the next worker completes the saga with it', async () => {
    const s = await seed(h);
    const body = orderBody(s, { deliveryDate: nextDate() });
    // No carrier yet: the command waits in its queue.
    const handle = await startOrder(h, body);
    await waitFor('the command is queued', async () => (await messagesIn(commandQueueOf(h))) === 1, {
      timeoutMs: 90_000,
    });
    await h.stopWorker();
    await startCarrier(h, commandQueueOf(h));
    await waitFor(
      'the reply is queued, with no worker to take it',
      async () => {
        return (await messagesIn(carrierReplyQueue(h.taskQueue))) === 1;
      },
      { timeoutMs: 90_000 },
    );
    expect(await shipmentOf(h, body.orderId)).toMatchObject({ status: 'CREATED' });

    await h.startWorker();
    const state = await waitForSaga<OrderState>(handle);

    expect(state.status).toBe(SagaStatus.COMPLETED);
    // Completed by the first attempt's reply, held by the broker while no worker ran: no retry was needed.
    expect(state.steps.find((x) => x.name === 'createShipment')).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    expect(await shipmentResult(h, body.orderId)).toEqual({ value: 'applied', attempt: 1 });
    expect(await messagesIn(carrierReplyQueue(h.taskQueue))).toBe(0);
  });

  test('a duplicate reply changes nothing: acknowledged and ignored, the saga and the shipment as after the first', async () => {
    // This test is the carrier: it takes the command, applies it with the shipments code and replies twice.
    const s = await seed(h);
    const body = orderBody(s, { deliveryDate: nextDate() });
    const handle = await startOrder(h, body);
    let command: amqplib.GetMessage | false = false;
    await waitFor('the command', async () => (command = await channel.get(commandQueueOf(h))) !== false, {
      timeoutMs: 90_000,
    });
    const message = command as unknown as amqplib.GetMessage;
    expect(message.properties).toMatchObject({
      messageId: `${orderWorkflowId(body.orderId)}:createShipment`,
      replyTo: carrierReplyQueue(h.taskQueue),
      type: CarrierMessageType.createShipment,
      deliveryMode: 2,
    });
    const apply = carrierCommandHandler(createShipmentActivities(h.cols, { servedCountries }));
    const reply = await apply(message.properties.type as string, JSON.parse(message.content.toString()));
    expect(reply).toEqual({ outcome: 'done', result: 'applied' });
    const headers = message.properties.headers as Record<string, unknown>;
    const publishReply = () =>
      channel.sendToQueue(message.properties.replyTo as string, Buffer.from(JSON.stringify(reply)), {
        persistent: true,
        correlationId: message.properties.messageId as string,
        type: CarrierMessageType.reply,
        headers: {
          [CarrierHeader.taskToken]: headers[CarrierHeader.taskToken],
          [CarrierHeader.attempt]: headers[CarrierHeader.attempt],
        },
      });
    publishReply();
    publishReply();
    channel.ack(message);

    const state = await waitForSaga<OrderState>(handle);
    await sagaResult(handle);
    // Both replies were taken and acknowledged (the second one found no waiting attempt).
    await waitFor('both replies consumed', async () => (await messagesIn(carrierReplyQueue(h.taskQueue))) === 0, {
      timeoutMs: 60_000,
    });
    publishReply(); // and once more after the saga closed
    await waitFor('the late reply consumed', async () => (await messagesIn(carrierReplyQueue(h.taskQueue))) === 0, {
      timeoutMs: 60_000,
    });

    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect(state.steps.find((x) => x.name === 'createShipment')).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    const closed = (await handle.query(getStateQuery)) as OrderState;
    expect(closed.status).toBe(SagaStatus.COMPLETED);
    expect(closed.steps.map((x) => [x.name, x.status])).toEqual(state.steps.map((x) => [x.name, x.status]));
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.activityTaskCompletedEventAttributes).length).toBe(
      events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    );
    expect(await h.cols.shipments.countDocuments({ _id: `${orderWorkflowId(body.orderId)}:createShipment` })).toBe(1);
  });

  test('the carrier killed between applying and replying: the command is redelivered and answered once, same shipment', async () => {
    const dying = await startCarrier(h, commandQueueOf(h), { CARRIER_TEST_FAULT: 'die-after-apply' });
    const s = await seed(h);
    const body = orderBody(s, { deliveryDate: nextDate() });
    const handle = await startOrder(h, body);
    const exit = await dying.exited;
    expect(exit.signal).toBe('SIGKILL');
    // Applied, not answered: the command is back in the queue, no reply went out.
    expect(await shipmentOf(h, body.orderId)).toMatchObject({ status: 'CREATED' });
    await waitFor('the command back in its queue', async () => (await messagesIn(commandQueueOf(h))) === 1, {
      timeoutMs: 60_000,
    });

    await startCarrier(h, commandQueueOf(h));
    const state = await waitForSaga<OrderState>(handle);

    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect(state.steps.find((x) => x.name === 'createShipment')).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    // The second carrier applied the redelivered command again: the effect of the first stood, once.
    expect(await shipmentResult(h, body.orderId)).toEqual({ value: 'already-applied', attempt: 1 });
    expect(await h.cols.shipments.countDocuments({ _id: `${orderWorkflowId(body.orderId)}:createShipment` })).toBe(1);
  });

  test('a carrier that never replies: each attempt times out, then every started step is undone', async () => {
    // No carrier process for `short` (2 s an attempt, 2 attempts): createShipment times out for good.
    const s = await seed(short);
    const date = nextDate();
    const before = await snapshot(short, s, date);
    const body = orderBody(s, { deliveryDate: date });
    const handle = await startOrder(short, body);
    await waitFor(
      'createShipment to fail for good',
      async () => {
        const st = (await handle.query(getStateQuery)) as OrderState;
        return st.failure?.step === 'createShipment';
      },
      { timeoutMs: 120_000 },
    );
    // Waiting for cancelShipment, the first compensation (the last step pushed), which no carrier answers yet.
    expect(((await handle.query(getStateQuery)) as OrderState).status).toBe(SagaStatus.COMPENSATING);
    // The compensation is a command too: a carrier that comes back answers it (a carrier that never does leaves
    // the saga FAILED for an operator, as any compensation that keeps failing).
    await startCarrier(short, commandQueueOf(short));
    const state = await waitForSaga<OrderState>(handle, { timeoutMs: 240_000 });

    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.failure).toMatchObject({ step: 'createShipment', type: 'Timeout' });
    expect(state.steps.map((x) => [x.name, x.status])).toEqual([
      ['priceOrder', 'COMPLETED'],
      ['reserveCredit', 'COMPENSATED'],
      ['reserveInventory', 'COMPENSATED'],
      ['processPayment', 'COMPENSATED'],
      ['createShipment', 'COMPENSATED'],
    ]);
    const after = await snapshot(short, s, date, body.orderId);
    expect(after).toEqual({ ...before, chargedCents: 0, liveShipments: 0 });
  }, 300_000);

  test('CARRIER is validated once: a wrong value stops the process naming the variable', () => {
    expect(() => loadConfig({ PAYLOAD_ENCRYPTION: 'off', CARRIER: 'rabbit' })).toThrow(ConfigError);
    expect(() => loadConfig({ PAYLOAD_ENCRYPTION: 'off', CARRIER: 'rabbit' })).toThrow(
      /^Invalid configuration: CARRIER: must be in-process or broker/,
    );
    expect(() => loadConfig({ PAYLOAD_ENCRYPTION: 'off', CARRIER_REPLY_TIMEOUT_SECONDS: '0' })).toThrow(
      /CARRIER_REPLY_TIMEOUT_SECONDS: must be at least 1 second/,
    );
    expect(loadConfig({ PAYLOAD_ENCRYPTION: 'off' })).toMatchObject({
      CARRIER: 'in-process',
      CARRIER_COMMAND_QUEUE: 'carrier.commands',
      CARRIER_REPLY_TIMEOUT_SECONDS: 30,
      CARRIER_REPLY_ATTEMPTS: 3,
    });
  });
});

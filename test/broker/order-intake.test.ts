import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import amqplib, { type ChannelModel, type ConfirmChannel, type GetMessage, type Options } from 'amqplib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { connectDraining, type DrainingConnection } from '../../bootstrap/temporal-connection';
import { orderPlacedKey, orderStarter } from '../../bootstrap/order-intake';
import { connectBroker, type Broker } from '../../broker/connection';
import {
  createOrderIntakeMetrics,
  deadLetterQueueOf,
  ORDER_PLACED_ROUTING_KEY,
  startOrderIntake,
  type IntakeOutcome,
  type OrderIntake,
  type OrderIntakeMetrics,
  type OrderIntakeOptions,
} from '../../broker/order-intake';
import { dataConverterFromEnv } from '../../codec/data-converter';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { CustomerIdKey } from '../../common/search-attributes';
import { OrderSagaInput } from '../../common/shapes/order';
import { freePort, repoRoot, startTemporalDevServer, type TemporalDevServer } from '../../scripts/lib/servers';
import { waitFor } from '../../scripts/lib/wait';
import { addVehicle, orderBody, seed, snapshot, unique, type Seeded } from '../support/fixtures';
import { http, requireEnv, startHarness, waitForSaga, type Harness } from '../support/harness';

/**
 * Order sagas started by `OrderPlaced` messages (broker/order-intake.ts, wired by bootstrap/order-intake.ts) against
 * the real RabbitMQ, Temporal dev server and FerretDB of `npm test`, and a Temporal dev server of this file's own that
 * it stops and starts again. Each intake consumes a queue of its own, bound to an exchange of its own (with one
 * exchange, every intake of the file would get every message).
 */
const id = randomUUID().slice(0, 8);
/** A logger that keeps its lines, to check that none carries the payment token or the address. */
function capturingLogger(lines: string[]) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}
const logger = capturingLogger([]);
const secretToken = `tok_secret_${id}`;
const secretStreet = `${id} Private Lane`;

let h: Harness;
let s: Seeded;
let publisher: ChannelModel;
let channel: ConfirmChannel;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  h = await startHarness('intake');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 100_000, stock: 10_000 });
  publisher = await amqplib.connect(requireEnv('AMQP_URL'));
  channel = await publisher.createConfirmChannel();
}, 120_000);
afterAll(async () => {
  for (const run of cleanup.reverse()) await run().catch(() => undefined);
  await publisher?.close();
  await h?.stop();
}, 120_000);

/** A valid message body: `POST /orders`' body with its order id, and this file's secret token and street. */
const placed = (overrides: Parameters<typeof orderBody>[1] = {}) => {
  const body = orderBody(s, { token: secretToken, ...overrides });
  return { ...body, shippingAddress: { ...body.shippingAddress, line1: secretStreet } };
};

interface TestIntake {
  exchange: string;
  queue: string;
  dlq: string;
  metrics: OrderIntakeMetrics;
  broker: Broker;
  intake: OrderIntake;
}

/** An intake on a queue of its own (or `queue`), starting sagas on the harness's task queue (or with `start`). */
async function startTestIntake(
  options: { queue?: string } & Partial<
    Pick<OrderIntakeOptions, 'start' | 'beforeAck' | 'requeueBackoff' | 'logger'>
  > = {},
): Promise<TestIntake> {
  const queue = options.queue ?? `test.orders.placed.${unique('q')}`;
  const exchange = `test.intake.${queue}`;
  const broker = await connectBroker({ url: requireEnv('AMQP_URL'), logger, connectionName: 'test-intake' });
  const metrics = createOrderIntakeMetrics(new Registry());
  const intake = await startOrderIntake({
    broker,
    logger: options.logger ?? logger,
    start: options.start ?? orderStarter({ temporal: h.client, db: h.db, taskQueue: h.taskQueue }),
    queue,
    prefetch: 4,
    maxBytes: 100_000,
    metrics,
    exchange,
    ...(options.beforeAck ? { beforeAck: options.beforeAck } : {}),
    ...(options.requeueBackoff ? { requeueBackoff: options.requeueBackoff } : {}),
  });
  cleanup.push(async () => {
    await intake.stop();
    await broker.close();
  });
  return { exchange, queue, dlq: deadLetterQueueOf(queue), metrics, broker, intake };
}

/** Publishes to the intake's exchange with the `OrderPlaced` key, confirmed by the broker. */
async function publish(to: { exchange: string }, body: unknown, properties: Options.Publish = {}): Promise<void> {
  const content = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  channel.publish(to.exchange, ORDER_PLACED_ROUTING_KEY, content, {
    persistent: true,
    contentType: 'application/json',
    messageId: randomUUID(),
    ...properties,
  });
  await channel.waitForConfirms();
}

async function count(metrics: OrderIntakeMetrics, outcome: IntakeOutcome): Promise<number> {
  return (await metrics.messages.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

const waitForCount = (metrics: OrderIntakeMetrics, outcome: IntakeOutcome, n: number, timeoutMs = 90_000) =>
  waitFor(
    `${n} message(s) ${outcome}`,
    async () => (await count(metrics, outcome)) >= n || `${await count(metrics, outcome)} so far`,
    { timeoutMs },
  );

/** Ready and unacknowledged messages of a queue: 0 and 0 once everything was settled. */
async function depth(queue: string): Promise<{ ready: number; consumers: number }> {
  const { messageCount, consumerCount } = await channel.checkQueue(queue);
  return { ready: messageCount, consumers: consumerCount };
}

/** Takes every message in the dead-letter queue (acknowledged: gone). */
async function drain(dlq: string): Promise<GetMessage[]> {
  const taken: GetMessage[] = [];
  for (;;) {
    const message = await channel.get(dlq, { noAck: true });
    if (message === false) return taken;
    taken.push(message);
  }
}

/** Waits for the dead-lettered copy of the message with `messageId`. */
async function deadLettered(dlq: string, messageId: string): Promise<GetMessage> {
  let found: GetMessage | undefined;
  const seen: GetMessage[] = [];
  await waitFor(`message ${messageId} is in ${dlq}`, async () => {
    seen.push(...(await drain(dlq)));
    found = seen.find((m) => m.properties.messageId === messageId);
    return found !== undefined;
  });
  return found!;
}

const workflowsOf = async (orderId: string) => {
  let n = 0;
  for await (const _ of h.client.workflow.list({ query: `WorkflowId = '${orderWorkflowId(orderId)}'` })) n++;
  return n;
};

describe('an order saga started by an OrderPlaced message', () => {
  let intake: TestIntake;
  beforeAll(async () => {
    intake = await startTestIntake();
  });

  test('a valid OrderPlaced starts exactly one saga, as POST /orders would, which completes; the message is acknowledged', async () => {
    const body = placed({ quantity: 3 });
    const before = await snapshot(h, s, body.deliveryDate);

    await publish(intake, body);
    await waitForCount(intake.metrics, 'started', 1);

    const handle = h.client.workflow.getHandle(orderWorkflowId(body.orderId));
    const state = await waitForSaga<OrderState>(handle);
    expect(state.status).toBe(SagaStatus.COMPLETED);
    const description = await handle.describe();
    // The same search attributes and memo scheme as POST /orders; the memo key is the message body's hash.
    expect(description.typedSearchAttributes.get(CustomerIdKey)).toBe(s.customerId);
    expect(description.memo?.idempotencyKey).toBe(orderPlacedKey(OrderSagaInput.parse(body)));
    const after = await snapshot(h, s, body.deliveryDate, body.orderId);
    expect(after.chargedCents).toBe(3 * 1000);
    expect(after.stock).toBe(before.stock! - 3);
    // The API reads it like any other order.
    expect((await http(h.baseUrl, 'GET', `/orders/${body.orderId}`)).body.status).toBe(SagaStatus.COMPLETED);
    await waitFor('the queue is empty', async () => (await depth(intake.queue)).ready === 0);
    expect(await drain(intake.dlq)).toEqual([]);
  });

  test('the same message published twice starts one saga: the second is acknowledged as a duplicate', async () => {
    const body = placed();
    const messageId = randomUUID();
    const started = await count(intake.metrics, 'started');
    const duplicates = await count(intake.metrics, 'duplicate');

    await publish(intake, body, { messageId });
    await publish(intake, body, { messageId });
    await waitFor(
      'one start and one duplicate',
      async () =>
        (await count(intake.metrics, 'started')) === started + 1 &&
        (await count(intake.metrics, 'duplicate')) === duplicates + 1,
    );

    const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect((await snapshot(h, s, body.deliveryDate, body.orderId)).chargedCents).toBe(2 * 1000);
    await waitFor('visibility lists the saga', async () => (await workflowsOf(body.orderId)) === 1);
    expect(await count(intake.metrics, 'dead_lettered')).toBe(0);
    expect(await drain(intake.dlq)).toEqual([]);
  });

  test.each([
    ['a body that is not JSON', '{"orderId": "x", ', {}, 'not-json', 'the body is not UTF-8 JSON'],
    ['a content type that is not JSON', 'valid', { contentType: 'text/plain' }, 'not-json', 'content type text/plain'],
    ['a quantity of 0', 'quantity0', {}, 'invalid-order', 'items.0.quantity must be at least 1'],
    ['no deliveryDate', 'noDate', {}, 'invalid-order', 'deliveryDate '],
    ['no orderId (it names the saga)', 'noOrderId', {}, 'invalid-order', 'orderId '],
    ['a field the schema does not know', 'unknownField', {}, 'invalid-order', 'coupon is not a known field'],
    ['a body over BODY_LIMIT', 'huge', {}, 'too-large', 'more than 100000'],
    ['a customer that does not exist', 'unknownCustomer', {}, 'unknown-customer', 'Customer nobody-'],
  ] as const)(
    'a message with %s lands in the dead-letter queue with its reason (%s) naming what is wrong, and nothing starts',
    async (_what, kind, properties, reason, detail) => {
      const body = placed();
      const { orderId } = body;
      const sent: Record<string, unknown> | string = (() => {
        switch (kind) {
          case 'valid':
            return body;
          case 'quantity0':
            return { ...body, items: [{ sku: s.sku, quantity: 0 }] };
          case 'noDate': {
            const { deliveryDate: _d, ...rest } = body;
            return rest;
          }
          case 'noOrderId': {
            const { orderId: _o, ...rest } = body;
            return rest;
          }
          case 'unknownField':
            return { ...body, coupon: 'FREE' };
          case 'huge':
            return { ...body, payment: { token: 'x'.repeat(100_001) } };
          case 'unknownCustomer':
            return { ...body, customerId: unique('nobody') };
          default:
            return kind;
        }
      })();
      const content = Buffer.from(typeof sent === 'string' ? sent : JSON.stringify(sent));
      const messageId = randomUUID();
      const counted = async () =>
        (await intake.metrics.deadLettered.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
      const before = await counted();

      await publish(intake, content, { messageId, ...properties, headers: { publisher: 'test' } });
      const copy = await deadLettered(intake.dlq, messageId);

      const headers = copy.properties.headers ?? {};
      expect(headers['x-rejection-reason']).toBe(reason);
      expect(String(headers['x-rejection-detail'])).toContain(detail);
      expect(headers['x-rejected-by']).toBe('order-intake');
      expect(headers['x-original-exchange']).toBe(intake.exchange);
      expect(headers['x-original-routing-key']).toBe(ORDER_PLACED_ROUTING_KEY);
      expect(headers.publisher).toBe('test'); // the publisher's own headers are kept
      expect(copy.content.equals(content)).toBe(true); // the body as sent, to be fixed and published again
      expect(copy.properties.deliveryMode).toBe(2);
      await expect(h.client.workflow.getHandle(orderWorkflowId(orderId)).describe()).rejects.toThrow(
        WorkflowNotFoundError,
      );
      // The copy is visible in the dead-letter queue before the broker's confirm reaches the intake (a persistent
      // message is confirmed once written to disk), and the intake counts it only after that confirm.
      await waitFor(`${reason} counted`, async () => (await counted()) > before, { timeoutMs: 10_000 });
      expect(await counted()).toBe(before + 1);
      await waitFor('the queue is empty', async () => (await depth(intake.queue)).ready === 0);
    },
  );

  test('an order id that POST /orders already used, with another body, is dead-lettered as order-id-conflict; that saga is untouched', async () => {
    const body = placed();
    const started = await http(h.baseUrl, 'POST', '/orders', body);
    expect(started.status).toBe(202);
    const messageId = randomUUID();

    await publish(intake, { ...body, items: [{ sku: s.sku, quantity: 5 }] }, { messageId });
    const copy = await deadLettered(intake.dlq, messageId);

    expect(copy.properties.headers?.['x-rejection-reason']).toBe('order-id-conflict');
    expect(String(copy.properties.headers?.['x-rejection-detail'])).toContain(`Order ${body.orderId} has already`);
    const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect((await snapshot(h, s, body.deliveryDate, body.orderId)).chargedCents).toBe(2 * 1000);
  });
});

test('a message redelivered after its consumer died between the start and the ack starts one saga', async () => {
  const queue = `test.orders.placed.${unique('redelivery')}`;
  let died: () => void = () => undefined;
  const dead = new Promise<void>((resolve) => (died = resolve));
  // The first consumer loses its connection once the start returned, before it acknowledges: as if it died there.
  const first = await startTestIntake({
    queue,
    beforeAck: async () => {
      await first.broker.close();
      died();
    },
  });
  const body = placed();

  await publish(first, body);
  await dead;
  const redeliveries: boolean[] = [];
  const second = await startTestIntake({
    queue,
    beforeAck: ({ redelivered }) => {
      redeliveries.push(redelivered);
      return Promise.resolve();
    },
  });
  await waitForCount(second.metrics, 'duplicate', 1);

  expect(redeliveries).toEqual([true]);
  expect(await count(first.metrics, 'started')).toBe(0); // never acknowledged there
  expect(await count(second.metrics, 'started')).toBe(0);
  const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
  expect(state.status).toBe(SagaStatus.COMPLETED);
  expect((await snapshot(h, s, body.deliveryDate, body.orderId)).chargedCents).toBe(2 * 1000);
  await waitFor('visibility lists the saga', async () => (await workflowsOf(body.orderId)) === 1);
  await waitFor('the queue is empty', async () => (await depth(queue)).ready === 0);
  expect(await drain(deadLetterQueueOf(queue))).toEqual([]);
});

describe('while Temporal cannot be reached', () => {
  let own: TemporalDevServer;
  let connection: DrainingConnection;
  beforeAll(async () => {
    own = await startTemporalDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      logFile: path.join(repoRoot, '.data', 'logs', `test-intake-temporal-${id}.log`),
      truncateLog: true,
    });
    connection = await connectDraining({ address: own.address });
    cleanup.push(() => own.stop());
    cleanup.push(() => connection.close());
  }, 120_000);

  test('the message is requeued with backoff, never dead-lettered, and its saga starts once Temporal is back', async () => {
    const client = new Client({ connection: connection.connection, dataConverter: dataConverterFromEnv() });
    const intake = await startTestIntake({
      start: orderStarter({ temporal: client, db: h.db, taskQueue: h.taskQueue, temporalCallMs: 2_000 }),
      requeueBackoff: { initialMs: 200, maxMs: 2_000 },
    });
    const body = placed();

    await own.stop();
    await publish(intake, body);
    await waitForCount(intake.metrics, 'requeued', 2);
    expect(await count(intake.metrics, 'dead_lettered')).toBe(0);
    expect(await drain(intake.dlq)).toEqual([]);

    await own.restart(0);
    await waitForCount(intake.metrics, 'started', 1, 180_000);

    const description = await client.workflow.getHandle(orderWorkflowId(body.orderId)).describe();
    expect(description.memo?.idempotencyKey).toBe(orderPlacedKey(OrderSagaInput.parse(body)));
    expect(await count(intake.metrics, 'dead_lettered')).toBe(0);
    await waitFor('the queue is empty', async () => (await depth(intake.queue)).ready === 0);
  }, 300_000);
});

test('the intake logs the saga and message ids, never the payment token or the address', async () => {
  const lines: string[] = [];
  const intake = await startTestIntake({ logger: capturingLogger(lines) });
  const valid = placed();

  await publish(intake, valid);
  await publish(intake, { ...placed(), items: [{ sku: s.sku, quantity: 0 }] });
  await waitForCount(intake.metrics, 'started', 1);
  await waitForCount(intake.metrics, 'dead_lettered', 1);

  const text = lines.join('');
  expect(text).toContain(`"sagaId":"${valid.orderId}"`);
  expect(text).toContain(`"workflowId":"${orderWorkflowId(valid.orderId)}"`);
  expect(text).toContain('"messageId"');
  expect(text).toContain('"reason":"invalid-order"');
  expect(text).not.toContain(secretToken);
  expect(text).not.toContain(secretStreet);
  expect(text).not.toContain(s.sku); // nothing of the body at all
});

/**
 * The outbox relay (bootstrap/relay-main.ts, the real process) against the real servers: RabbitMQ, FerretDB, the
 * Temporal dev server, the real worker and API. A test consumer bound to `saga.events` must receive every event of
 * every saga, first in sequence order, each message as documented (routing key, message id, persistent, JSON body
 * as `GET …/domain-events` serves it); a repeat only as the same message. Also when the relay is SIGKILLed
 * mid-stream (a standby relay takes over) and when the broker restarts while sagas run.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import pino from 'pino';
import { connectBroker, type Broker } from '../../broker/connection';
import { SAGA_EVENTS_EXCHANGE } from '../../broker/topology';
import type { DomainEvent } from '../../common/domain-events';
import { orderWorkflowId } from '../../common/order';
import { countOutboxMarkers } from '../../store/outbox';
import { freePort, repoRoot, startRabbitMq, type RabbitMq } from '../../scripts/lib/servers';
import { waitFor } from '../../scripts/lib/wait';
import { addVehicle, orderBody, seed, type Seeded } from '../support/fixtures';
import { http, requireEnv, startHarness, waitForSaga, type Harness } from '../support/harness';
import { killIfRunning, processEnv, startProcess } from '../api/support';

let h: Harness;
let s: Seeded;
const id = randomUUID().slice(0, 8);
const relays: ReturnType<typeof startProcess>[] = [];
const brokers: Broker[] = [];
let ownRabbit: RabbitMq | undefined;
const ownRabbitDir = path.join(repoRoot, '.data', `test-relay-rabbit-${id}`);

beforeAll(async () => {
  h = await startHarness('relay');
  await addVehicle(h, 1000);
  s = await seed(h, { creditLimit: 1_000_000, price: 10, stock: 100_000 });
});
afterAll(async () => {
  for (const relay of relays) killIfRunning(relay.child);
  for (const broker of brokers) await broker.close();
  await ownRabbit?.stop();
  fs.rmSync(ownRabbitDir, { recursive: true, force: true });
  await h?.stop();
}, 60_000);

/** The relay process on the harness's database; `ready` what its output must show first. */
function startRelay(amqpUrl: string, ready = /Relay lease taken/) {
  const relay = startProcess(
    'bootstrap/relay-main.ts',
    ready,
    processEnv(h, { AMQP_URL: amqpUrl, RELAY_LEASE_SECONDS: '2', LOG_LEVEL: 'info' }),
  );
  relays.push(relay);
  return relay;
}

interface Delivery {
  routingKey: string;
  messageId: unknown;
  persistent: boolean;
  contentType: unknown;
  type: unknown;
  event: DomainEvent;
}

/**
 * A consumer as another service would bind: a durable queue of its own bound to `saga.events` with `order.*`,
 * set up again on every connection (broker/connection.ts `setups`); it acknowledges each message after noting it.
 */
async function consume(url: string): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  const queue = `test.relay.${randomUUID().slice(0, 8)}`;
  const broker = await connectBroker({
    url,
    logger: pino({ level: 'silent' }),
    connectionName: 'test-consumer',
    setups: [
      async (channel) => {
        await channel.assertQueue(queue, { durable: true });
        await channel.bindQueue(queue, SAGA_EVENTS_EXCHANGE, 'order.*');
        await channel.consume(queue, (msg: ConsumeMessage | null) => {
          if (msg === null) return;
          deliveries.push({
            routingKey: msg.fields.routingKey,
            messageId: msg.properties.messageId,
            persistent: msg.properties.deliveryMode === 2,
            contentType: msg.properties.contentType,
            type: msg.properties.type,
            event: JSON.parse(msg.content.toString('utf8')) as DomainEvent,
          });
          channel.ack(msg);
        });
      },
    ],
  });
  brokers.push(broker);
  return deliveries;
}

/** Starts `count` orders (every third one declined: it compensates) and returns their ids. */
async function startOrders(count: number): Promise<string[]> {
  const bodies = Array.from({ length: count }, (_, i) =>
    orderBody(s, { token: i % 3 === 2 ? 'tok_declined' : 'tok_visa', deliveryDate: '2029-02-01' }),
  );
  for (const body of bodies) expect((await http(h.baseUrl, 'POST', '/orders', body)).status).toBe(202);
  return bodies.map((b) => b.orderId);
}

async function settle(orderIds: string[]): Promise<void> {
  for (const orderId of orderIds) await waitForSaga(h.client.workflow.getHandle(orderWorkflowId(orderId)));
}

async function streamOf(orderId: string): Promise<DomainEvent[]> {
  const res = await http(h.baseUrl, 'GET', `/orders/${orderId}/domain-events`);
  expect(res.status).toBe(200);
  return res.body as DomainEvent[];
}

/**
 * Every saga's stream arrived whole; each saga's first deliveries of its events are in sequence order; every
 * delivery (repeats too) is exactly the stored event with the documented properties. Returns the repeats.
 */
async function expectDelivered(deliveries: Delivery[], orderIds: string[]): Promise<number> {
  const streams = new Map<string, DomainEvent[]>();
  for (const orderId of orderIds) streams.set(orderId, await streamOf(orderId));
  await waitFor(
    'every stored event was delivered',
    () => {
      const ids = new Set(deliveries.map((d) => d.messageId));
      const missing = [...streams.values()].flat().filter((e) => !ids.has(e.eventId)).length;
      return missing === 0 || `${missing} not delivered yet`;
    },
    { timeoutMs: 90_000 },
  );
  let repeats = 0;
  for (const [orderId, stream] of streams) {
    expect(stream.length).toBeGreaterThanOrEqual(3);
    const mine = deliveries.filter((d) => d.event.sagaId === orderId);
    const seen = new Set<unknown>();
    const firsts = mine.filter((d) => !seen.has(d.messageId) && seen.add(d.messageId));
    repeats += mine.length - firsts.length;
    expect(firsts.map((d) => d.event.sequence)).toEqual(stream.map((e) => e.sequence));
    for (const d of mine) {
      const stored = stream[d.event.sequence - 1]!;
      expect(d).toEqual({
        routingKey: `order.${stored.type}`,
        messageId: stored.eventId,
        persistent: true,
        contentType: 'application/json',
        type: `${stored.type}.v${stored.version}`,
        event: stored,
      });
    }
  }
  return repeats;
}

test('every event of every saga reaches a consumer of saga.events in sequence order, as documented', async () => {
  const url = requireEnv('AMQP_URL');
  const deliveries = await consume(url);
  const relay = startRelay(url);
  await relay.started;
  const orderIds = await startOrders(6);
  await settle(orderIds);
  const repeats = await expectDelivered(deliveries, orderIds);
  expect(repeats).toBe(0); // nothing failed: each event once
  await waitFor('the outbox is empty', async () => (await countOutboxMarkers(h.db)) === 0);
  const types = new Set(deliveries.map((d) => d.event.type));
  for (const type of ['SagaStarted', 'StepCompleted', 'StepFailed', 'CompensationStarted', 'SagaCompensated']) {
    expect(types).toContain(type);
  }
  relay.child.kill('SIGTERM');
  expect(await relay.exited).toBe(0);
  expect(relay.output()).toContain('Relay stopped');
}, 240_000);

test('the relay SIGKILLed mid-stream: the standby relay takes over, nothing is lost and each saga stays in order', async () => {
  const url = requireEnv('AMQP_URL');
  const deliveries = await consume(url);
  const first = startRelay(url);
  await first.started;
  const standby = startRelay(url, /standing by/);
  await standby.started;
  const orderIds = await startOrders(10);
  // Killed once a part of the sagas' events went out, while the others are still being appended.
  await waitFor('some events were delivered', () => deliveries.length >= 15 || `${deliveries.length} so far`, {
    timeoutMs: 90_000,
  });
  first.child.kill('SIGKILL');
  await first.exited;
  const delivered = deliveries.length;
  await settle(orderIds);
  await expectDelivered(deliveries, orderIds);
  expect(deliveries.length).toBeGreaterThan(delivered); // the rest came from the standby
  expect(standby.output()).toContain('Relay lease taken');
  await waitFor('the outbox is empty', async () => (await countOutboxMarkers(h.db)) === 0);
  standby.child.kill('SIGTERM');
  expect(await standby.exited).toBe(0);
}, 300_000);

test('RabbitMQ restarted while sagas run: the relay resumes and nothing is lost or out of order', async () => {
  ownRabbit = await startRabbitMq({
    port: await freePort(),
    distPort: await freePort(),
    nodeName: `sagas-test-relay-${id}`,
    dataDir: ownRabbitDir,
    logFile: path.join(repoRoot, '.data', 'logs', `test-relay-rabbit-${id}.log`),
    truncateLog: true,
  });
  const deliveries = await consume(ownRabbit.url);
  const relay = startRelay(ownRabbit.url);
  await relay.started;
  const orderIds = await startOrders(10);
  await waitFor('some events were delivered', () => deliveries.length >= 10 || `${deliveries.length} so far`, {
    timeoutMs: 90_000,
  });
  await ownRabbit.restart(2_000);
  await settle(orderIds);
  await expectDelivered(deliveries, orderIds);
  expect(relay.output()).toMatch(/Lost the RabbitMQ connection|Relay round failed \(broker\)/);
  await waitFor('the outbox is empty', async () => (await countOutboxMarkers(h.db)) === 0);
  relay.child.kill('SIGTERM');
  expect(await relay.exited).toBe(0);
}, 300_000);

import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { connectBroker, type Broker } from '../../broker/connection';
import { createOutboxRelay } from '../../broker/outbox-relay';
import { createRelayMetrics } from '../../broker/relay-metrics';
import { secretBoxFromEnv } from '../../codec/secret-box';
import { verifyWebhook } from '../../common/webhooks';
import { consumeEvents } from '../../webhooks/consumer';
import { startDispatcher } from '../../webhooks/dispatcher';
import { eventually } from '../api/support';
import { orderBody, seed, addVehicle } from '../support/fixtures';
import { http as call, requireEnv, startHarness, type Harness } from '../support/harness';

/**
 * The whole path, every part real: an order saga through the API appends its domain events, the outbox relay
 * (broker/outbox-relay.ts) publishes them to saga.events, the dispatcher's consumer fans them out and the dispatcher
 * POSTs them, signed, to a receiver in this test.
 */
const logger = pino({ level: 'silent' });
let h: Harness;
let broker: Broker | undefined;
let receiver: Server;
const received: { headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  h = await startHarness('webhooks_e2e');
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => receiver.once('listening', () => resolve()));
});
afterAll(async () => {
  await broker?.close();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  await h?.stop();
});

test('an order saga run through the API reaches a subscribed receiver as signed events, each once, as its stream has them', async () => {
  const port = (receiver.address() as AddressInfo).port;
  const created = await call(h.baseUrl, 'POST', '/webhooks', {
    url: `http://localhost:${port}/orders`,
    eventTypes: ['SagaStarted', 'StepCompleted', 'SagaCompleted'],
  });
  expect(created.status).toBe(201);
  const { id, secret } = created.body as { id: string; secret: string };

  broker = await connectBroker({ url: requireEnv('AMQP_URL'), logger, connectionName: 'test-webhooks-e2e' });
  const stop = new AbortController();
  const relay = createOutboxRelay({
    db: h.db,
    broker,
    logger,
    metrics: createRelayMetrics(),
    pollMs: 50,
    batchSize: 100,
  });
  const relaying = relay.run(stop.signal);
  const dispatcher = await startDispatcher({
    db: h.db,
    secrets: secretBoxFromEnv(),
    logger,
    schedule: { baseMs: 100, maxDelayMs: 400, horizonMs: 120_000 },
    timeoutMs: 5_000,
    disableAfterFailures: 1_000,
    pollMs: 50,
  });
  const queue = `saga.webhooks.test-${randomUUID().slice(0, 8)}`;
  try {
    await consumeEvents({ broker, fanOut: (event) => dispatcher.fanOut(event), logger, queue });
    await addVehicle(h, 10);
    const s = await seed(h);
    const order = orderBody(s);
    expect((await call(h.baseUrl, 'POST', '/orders', order)).status).toBe(202);
    await eventually(
      () => Promise.resolve(received.filter((r) => JSON.parse(r.body).sagaId === order.orderId)),
      (rs) => rs.some((r) => r.headers['saga-event-type'] === 'SagaCompleted'),
      90_000,
    );
    const stream = (await call(h.baseUrl, 'GET', `/orders/${order.orderId}/domain-events`)).body as {
      eventId: string;
      type: string;
    }[];
    const wanted = stream.filter((e) => ['SagaStarted', 'StepCompleted', 'SagaCompleted'].includes(e.type));
    await eventually(
      () => Promise.resolve(received.length),
      (n) => n >= wanted.length,
    );
    const ids = received.map((r) => r.headers['saga-event-id']);
    expect([...ids].sort()).toEqual(wanted.map((e) => e.eventId).sort()); // each once, none of the other types
    for (const r of received) {
      expect(verifyWebhook(secret, r.body, r.headers['saga-signature'] as string)).toMatchObject({ ok: true });
      expect(JSON.parse(r.body)).toEqual(stream.find((e) => e.eventId === r.headers['saga-event-id']));
    }
    const deliveries = (await call(h.baseUrl, 'GET', `/webhooks/${id}/deliveries`)).body as {
      items: { status: string }[];
    };
    expect(deliveries.items.map((d) => d.status)).toEqual(wanted.map(() => 'delivered'));
  } finally {
    stop.abort();
    await relaying;
    await dispatcher.stop();
    const channel = await broker.channel();
    await channel.deleteQueue(queue);
  }
});

import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import amqplib from 'amqplib';
import pino from 'pino';
import { connectBroker, type Broker } from '../../broker/connection';
import { messagePropertiesOf, routingKeyOf, SAGA_EVENTS_EXCHANGE } from '../../broker/topology';
import { secretBoxFromEnv } from '../../codec/secret-box';
import type { DomainEvent } from '../../common/domain-events';
import { signWebhook, verifyWebhook } from '../../common/webhooks';
import { webhookCollections } from '../../store/webhooks';
import { addressProblem } from '../../webhooks/address-guard';
import { consumeEvents } from '../../webhooks/consumer';
import { startDispatcher, type Dispatcher, type DispatcherOptions } from '../../webhooks/dispatcher';
import { eventually } from '../api/support';
import { http as call, requireEnv, startHarness, type Harness } from '../support/harness';

/**
 * Webhooks against real servers: the API and FerretDB of the harness, the dispatcher of webhooks/dispatcher.ts in
 * this process (its schedule shortened: retries after 50-400 ms), RabbitMQ from `npm test`, and an HTTP receiver
 * in this test as the receiving system. Nothing is mocked.
 */
const logger = pino({ level: 'silent' });
let h: Harness;
let receiver: Server;
let receiverPort = 0;
const brokers: Broker[] = [];

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}
const received: Received[] = [];
/** How the receiver answers a path: a status per call (the last one repeats), 200 by default. */
const answers = new Map<string, number[]>();

beforeAll(async () => {
  h = await startHarness('webhooks');
  receiver = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body });
      const plan = answers.get(path) ?? [200];
      const status = plan.length > 1 ? plan.shift()! : plan[0]!;
      if (status >= 300 && status < 400) res.setHeader('location', `http://localhost:${receiverPort}/elsewhere`);
      res.writeHead(status).end('ok');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => receiver.once('listening', () => resolve()));
  receiverPort = (receiver.address() as AddressInfo).port;
});
// Each test sees only its own subscriptions: a fan-out creates a delivery for every one that is active.
afterEach(async () => {
  const cols = webhookCollections(h.db);
  await cols.subscriptions.deleteMany({});
  await cols.pending.deleteMany({});
});
afterAll(async () => {
  for (const broker of brokers) await broker.close();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  await h?.stop();
});

/** The dispatcher with a short schedule; `fn` runs while it runs. One at a time: one dispatcher per database. */
async function withDispatcher<T>(
  overrides: Partial<DispatcherOptions>,
  fn: (dispatcher: Dispatcher) => Promise<T>,
): Promise<T> {
  const dispatcher = await startDispatcher({
    db: h.db,
    secrets: secretBoxFromEnv(),
    logger,
    schedule: { baseMs: 100, maxDelayMs: 400, horizonMs: 120_000 },
    timeoutMs: 5_000,
    disableAfterFailures: 1_000,
    pollMs: 50,
    ...overrides,
  });
  try {
    return await fn(dispatcher);
  } finally {
    await dispatcher.stop();
  }
}

let sequence = 0;
/** A domain event of a saga of its own (unique id): the shape the relay publishes and the stream stores. */
function event(type: 'SagaCompleted' | 'SagaCompensated' = 'SagaCompleted'): DomainEvent {
  sequence += 1;
  const sagaId = `o-${randomUUID().slice(0, 8)}`;
  const base = {
    version: 1 as const,
    eventId: `order-${sagaId}#${sequence}`,
    sagaType: 'order' as const,
    sagaId,
    sequence,
    occurredAt: new Date().toISOString(),
  };
  return type === 'SagaCompleted'
    ? { ...base, type, data: {} }
    : { ...base, type: 'SagaCompensated', data: { cancelled: false } };
}

/** A subscription through the API; its id and secret. */
async function subscribe(
  path: string,
  { eventTypes = ['*'], host = 'localhost', scheme = 'http' } = {},
): Promise<{ id: string; secret: string }> {
  const res = await call(h.baseUrl, 'POST', '/webhooks', {
    url: `${scheme}://${host}:${receiverPort}${path}`,
    eventTypes,
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string };
}

const deliveriesOf = async (id: string) =>
  (await call(h.baseUrl, 'GET', `/webhooks/${id}/deliveries`)).body as {
    items: {
      id: string;
      eventId: string;
      status: string;
      attempts: { statusCode: number | null; error: string | null; durationMs: number }[];
    }[];
  };
const webhook = async (id: string) =>
  (await call(h.baseUrl, 'GET', `/webhooks/${id}`)).body as {
    status: string;
    disabledReason: string | null;
    consecutiveFailures: number;
  };
const at = (path: string) => received.filter((r) => r.path === path);

describe('subscriptions', () => {
  test('the secret is answered once, at creation: never by a read or the listing, and MongoDB holds it sealed', async () => {
    const { id, secret } = await subscribe('/created');
    expect(secret).toMatch(/^whsec_/);
    const one = await call(h.baseUrl, 'GET', `/webhooks/${id}`);
    const list = await call(h.baseUrl, 'GET', '/webhooks');
    expect(one.body).toMatchObject({ id, status: 'active', disabledReason: null });
    for (const body of [one.body, list.body]) {
      expect(JSON.stringify(body)).not.toContain(secret);
      expect(JSON.stringify(body)).not.toMatch(/secret/i);
    }
    const stored = await webhookCollections(h.db).subscriptions.findOne({ _id: id });
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(6));
    expect(stored?.secret).toMatchObject({ keyId: 'test-run', data: expect.any(String) });
  });

  test('bad input answers 4xx naming the field and stores nothing; reads need reader, writes operator', async () => {
    const cols = webhookCollections(h.db);
    const before = await cols.subscriptions.countDocuments();
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      call(h.baseUrl, 'POST', '/webhooks', body, headers);
    const offList = await post({ url: 'https://hooks.example.com/x', eventTypes: ['*'] });
    expect(offList.status).toBe(422);
    expect(offList.body.errors).toEqual([
      { path: 'body.url', message: expect.stringMatching(/not in the webhook allowlist/) },
    ]);
    const plain = await post({ url: `http://${os.hostname().toLowerCase()}/x`, eventTypes: ['*'] });
    expect([plain.status, plain.body.errors[0]]).toEqual([422, { path: 'body.url', message: 'must be an https URL' }]);
    const unknownType = await post({ url: 'http://localhost/x', eventTypes: ['SagaCompleted', 'Nope'] });
    expect([unknownType.status, unknownType.body.errors[0].path]).toEqual([400, 'body.eventTypes.1']);
    const noTypes = await post({ url: 'http://localhost/x', eventTypes: [] });
    expect([noTypes.status, noTypes.body.errors[0].path]).toEqual([400, 'body.eventTypes']);
    const userInfo = await post({ url: 'http://u:p@localhost/x', eventTypes: ['*'] });
    expect(userInfo.status).toBe(422);
    const byReader = await post(
      { url: 'http://localhost/x', eventTypes: ['*'] },
      { authorization: `Bearer ${h.keys.reader}` },
    );
    expect(byReader.status).toBe(403);
    expect(await cols.subscriptions.countDocuments()).toBe(before);
    const read = await call(h.baseUrl, 'GET', '/webhooks', undefined, { authorization: `Bearer ${h.keys.reader}` });
    expect(read.status).toBe(200);
  });
});

describe('deliveries', () => {
  test('a delivery is a signed POST: it verifies with the secret, a tampered body or a replayed old one does not', async () => {
    const { id, secret } = await subscribe('/signed', { eventTypes: ['SagaCompleted'] });
    const e = event();
    await withDispatcher({}, async (dispatcher) => {
      expect(await dispatcher.fanOut(e)).toEqual([`${id}#${e.eventId}`]);
      expect(await dispatcher.fanOut(event('SagaCompensated'))).toEqual([]); // a type it does not want
      await eventually(
        () => Promise.resolve(at('/signed').length),
        (n) => n === 1,
      );
    });
    const [request] = at('/signed');
    const body = request!.body;
    expect(JSON.parse(body)).toEqual(e);
    expect(request!.headers['saga-event-id']).toBe(e.eventId);
    expect(request!.headers['saga-event-type']).toBe('SagaCompleted');
    expect(request!.headers['saga-delivery-id']).toBe(`${id}#${e.eventId}`);
    expect(request!.headers['saga-delivery-attempt']).toBe('1');
    expect(request!.headers['content-type']).toBe('application/json');
    const signature = request!.headers['saga-signature'] as string;
    expect(signature).toMatch(/^t=[0-9]+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, body, signature)).toMatchObject({ ok: true });
    expect(verifyWebhook(secret, body.replace('"order"', '"order "'), signature)).toEqual({
      ok: false,
      reason: 'signature does not match',
    });
    expect(verifyWebhook('whsec_other', body, signature)).toMatchObject({ ok: false });
    // The same body and signature presented again later than the replay window: refused.
    const t = Number(/t=([0-9]+)/.exec(signature)![1]);
    expect(verifyWebhook(secret, body, signature, { now: (t + 301) * 1000 })).toMatchObject({ ok: false });
    expect(verifyWebhook(secret, body, signWebhook(secret, body, t - 1000))).toMatchObject({ ok: false });
    const [delivery] = (await deliveriesOf(id)).items;
    expect(delivery).toMatchObject({ status: 'delivered', attempts: [{ statusCode: 200, error: null }] });
  });

  test('a receiver that answers 500 twice gets the event on the third attempt, each attempt recorded', async () => {
    const { id } = await subscribe('/flaky');
    answers.set('/flaky', [500, 503, 200]);
    await withDispatcher({}, async (dispatcher) => {
      await dispatcher.fanOut(event());
      await eventually(
        () => deliveriesOf(id),
        (d) => d.items[0]?.status === 'delivered',
      );
    });
    const [delivery] = (await deliveriesOf(id)).items;
    expect(delivery!.attempts.map((a) => [a.statusCode, a.error])).toEqual([
      [500, 'answered 500'],
      [503, 'answered 503'],
      [200, null],
    ]);
    expect(at('/flaky').map((r) => r.headers['saga-delivery-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(at('/flaky').map((r) => r.headers['saga-event-id'])).size).toBe(1);
    expect(await webhook(id)).toMatchObject({ status: 'active', consecutiveFailures: 0 });
  });

  test('a receiver that keeps failing: its subscription is disabled after N failures in a row, the reason visible; enabled again, the paused delivery is sent', async () => {
    const { id } = await subscribe('/down');
    answers.set('/down', [500]);
    await withDispatcher({ disableAfterFailures: 3 }, async (dispatcher) => {
      await dispatcher.fanOut(event());
      await eventually(
        () => webhook(id),
        (w) => w.status === 'disabled',
      );
      const disabled = await webhook(id);
      expect(disabled.disabledReason).toBe('3 failed attempts in a row; the last: answered 500');
      // While disabled: nothing more is sent, and new events create no delivery for it.
      const sent = at('/down').length;
      expect(await dispatcher.fanOut(event())).toEqual([]);
      expect((await deliveriesOf(id)).items).toHaveLength(1);
      expect((await deliveriesOf(id)).items[0]!.status).toBe('pending');
      answers.set('/down', [200]);
      const enabled = await call(h.baseUrl, 'POST', `/webhooks/${id}/enable`);
      expect(enabled.body).toMatchObject({ status: 'active', disabledReason: null, consecutiveFailures: 0 });
      await eventually(
        () => deliveriesOf(id),
        (d) => d.items[0]?.status === 'delivered',
      );
      expect(at('/down').length).toBe(sent + 1);
    });
  });

  test('a delivery still failing at the end of its retry horizon fails, and disables its subscription with why', async () => {
    const { id } = await subscribe('/gone');
    answers.set('/gone', [410]);
    await withDispatcher({ schedule: { baseMs: 200, maxDelayMs: 400, horizonMs: 1_000 } }, async (dispatcher) => {
      const e = event();
      await dispatcher.fanOut(e);
      await eventually(
        () => deliveriesOf(id),
        (d) => d.items[0]?.status === 'failed',
      );
      const w = await webhook(id);
      expect(w.status).toBe('disabled');
      expect(w.disabledReason).toMatch(new RegExp(`^delivery of event ${e.eventId} failed: [0-9]+ attempts over`));
      expect(w.disabledReason).toMatch(/the last: answered 410$/);
    });
  });

  test('a redirect is not followed: the attempt fails saying where it pointed', async () => {
    const { id } = await subscribe('/moved');
    answers.set('/moved', [302, 200]);
    await withDispatcher({}, async (dispatcher) => {
      await dispatcher.fanOut(event());
      await eventually(
        () => deliveriesOf(id),
        (d) => d.items[0]?.status === 'delivered',
      );
    });
    const [delivery] = (await deliveriesOf(id)).items;
    expect(delivery!.attempts[0]).toMatchObject({
      statusCode: 302,
      error: `redirect to http://localhost:${receiverPort}/elsewhere not followed`,
    });
    expect(at('/elsewhere')).toEqual([]);
  });

  test('an allowlisted host name that resolves to a non-public address is refused at delivery: no request is sent', async () => {
    const name = os.hostname().toLowerCase();
    const { address } = await lookup(name);
    expect(addressProblem(name, address)).toEqual(expect.stringContaining('not a public address')); // /etc/hosts
    const { id } = await subscribe('/rebound', { host: name, scheme: 'https' });
    await withDispatcher({ disableAfterFailures: 2 }, async (dispatcher) => {
      await dispatcher.fanOut(event());
      await eventually(
        () => webhook(id),
        (w) => w.status === 'disabled',
      );
    });
    const [delivery] = (await deliveriesOf(id)).items;
    expect(delivery!.attempts[0]).toMatchObject({
      statusCode: null,
      error: `refused: ${name} resolves to ${address}, which is not a public address`,
    });
    expect(at('/rebound')).toEqual([]);
    // A literal address is checked the same way, without DNS.
    expect(addressProblem('10.0.0.8', '10.0.0.8')).toMatch(/not a public address/);
    expect(addressProblem('[::ffff:169.254.169.254]', '::ffff:169.254.169.254')).toMatch(/not a public address/);
    expect(addressProblem('localhost', '127.0.0.1')).toBeUndefined();
    expect(addressProblem('example.com', '93.184.216.34')).toBeUndefined();
  });

  test('fan-out is idempotent; a deleted subscription stops receiving and its pending delivery is abandoned; deliveries are listed newest first', async () => {
    const { id } = await subscribe('/twice');
    const other = await subscribe('/deleted');
    answers.set('/deleted', [500]);
    const first = event();
    const second = event();
    await withDispatcher({}, async (dispatcher) => {
      expect(await dispatcher.fanOut(first)).toHaveLength(2);
      await dispatcher.fanOut(first);
      await dispatcher.fanOut(second);
      await eventually(
        () => deliveriesOf(id),
        (d) => d.items.length === 2 && d.items.every((x) => x.status === 'delivered'),
      );
      await eventually(
        () => Promise.resolve(at('/deleted').length),
        (n) => n >= 1,
      );
      expect((await call(h.baseUrl, 'DELETE', `/webhooks/${other.id}`)).status).toBe(204);
      const pending = `${other.id}#${first.eventId}`;
      await eventually(
        () => webhookCollections(h.db).deliveries.findOne({ _id: pending }),
        (d) => d?.status === 'abandoned',
      );
    });
    expect((await deliveriesOf(id)).items.map((d) => d.eventId)).toEqual([second.eventId, first.eventId]);
    expect(at('/twice').map((r) => r.headers['saga-event-id'])).toEqual([first.eventId, second.eventId]);
    expect((await call(h.baseUrl, 'GET', `/webhooks/${other.id}/deliveries`)).status).toBe(404);
  });
});

describe('fed from RabbitMQ', () => {
  test('an event published to saga.events reaches the receiver once, though the message arrives twice (a redelivery)', async () => {
    // The relay that publishes the stored events is another branch's work: this test publishes as it does
    // (broker/topology.ts: routing key, message id = event id, persistent).
    const url = requireEnv('AMQP_URL');
    const { id } = await subscribe('/from-broker', { eventTypes: ['SagaCompleted'] });
    const broker = await connectBroker({ url, logger, connectionName: 'test-webhooks' });
    brokers.push(broker);
    const e = event();
    // A queue of this test's own, bound like saga.webhooks: other test files' relays publish to the same exchange.
    const queue = `saga.webhooks.test-${randomUUID().slice(0, 8)}`;
    await withDispatcher({}, async (dispatcher) => {
      await consumeEvents({ broker, fanOut: (ev) => dispatcher.fanOut(ev), logger, queue });
      const publisher = await amqplib.connect(url);
      try {
        const channel = await publisher.createConfirmChannel();
        for (let i = 0; i < 2; i++) {
          channel.publish(
            SAGA_EVENTS_EXCHANGE,
            routingKeyOf(e),
            Buffer.from(JSON.stringify(e)),
            messagePropertiesOf(e),
          );
        }
        channel.publish(SAGA_EVENTS_EXCHANGE, 'order.Garbage', Buffer.from('not json'), { persistent: true });
        await channel.waitForConfirms();
        await eventually(
          () => deliveriesOf(id),
          (d) => d.items[0]?.status === 'delivered',
        );
        // Both copies acknowledged (after their fan-out) and the garbage dropped: the queue is empty.
        await eventually(
          async () => (await channel.checkQueue(queue)).messageCount,
          (n) => n === 0,
        );
        await channel.deleteQueue(queue);
      } finally {
        await publisher.close();
      }
    });
    expect((await deliveriesOf(id)).items).toHaveLength(1);
    expect(at('/from-broker').map((r) => r.headers['saga-event-id'])).toEqual([e.eventId]);
  });
});

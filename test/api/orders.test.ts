import { getEventListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { dataConverterFromEnv } from '../../codec/data-converter';
import { createApp } from '../../api/app';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { IDEMPOTENCY_COLLECTION, idempotencyKeys, purgeExpiredKeys } from '../../api/idempotency';
import { addVehicle, orderBody, seed, snapshot, unique, type Seeded } from '../support/fixtures';
import { http, startHarness, waitForSaga, type Harness } from '../support/harness';
import { testAuthenticator } from '../support/lane';
import { startOrderSaga } from '../faults/support';
import { eventually, readEvents } from './support';
import { sagaResult } from '../../common/saga-result';

let h: Harness;
/**
 * Holds the saga's payment until `h.hooks.release` (so that a test can see, and cancel, a saga mid-way); let go after
 * 6 s at the latest, well inside the activity's 10 s start-to-close timeout.
 */
const holdPayment = (workflowId: string) => h.hooks.hold(workflowId, 'processPayment', { maxHoldMs: 6_000 });
let s: Seeded;
let dateCounter = 0;
const nextDate = () => `2027-03-${String(++dateCounter).padStart(2, '0')}`;

beforeAll(async () => {
  h = await startHarness('apiorders');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 100_000, price: 10, stock: 10_000 });
});
afterAll(async () => {
  await h?.stop();
});

type Listed = { orders?: { orderId: string; status: string }[]; nextPageToken: string | null };
const ids_ = (res: { body: unknown }) => ((res.body as Listed).orders ?? []).map((o) => o.orderId);
const atPayment = (body: unknown) => (body as OrderState).steps?.some((x) => x.name === 'processPayment') ?? false;

async function startOrder(body = orderBody(s, { deliveryDate: nextDate() }), headers: Record<string, string> = {}) {
  const res = await http(h.baseUrl, 'POST', '/orders', body, headers);
  expect(res.status).toBe(202);
  return { body, res };
}

describe('GET /orders', () => {
  test('lists sagas newest first, filtered by customer and status, page by page with an opaque token', async () => {
    const customer = await seed(h, { creditLimit: 100_000 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { body } = await startOrder(orderBody(customer, { deliveryDate: nextDate() }));
      await waitForSaga(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
      ids.push(body.orderId);
    }
    const declined = orderBody(customer, { token: 'tok_declined', deliveryDate: nextDate() });
    await startOrder(declined);
    await waitForSaga(h.client.workflow.getHandle(orderWorkflowId(declined.orderId)));

    // Visibility is eventually consistent: wait until all four show their final status.
    const all = await eventually(
      () => http(h.baseUrl, 'GET', `/orders?customerId=${customer.customerId}`),
      (r) => {
        const orders = (r.body as Listed).orders ?? [];
        return orders.length === 4 && orders.every((o) => o.status !== 'RUNNING');
      },
    );
    expect(all.status).toBe(200);
    expect(ids_(all)).toEqual([declined.orderId, ...ids.reverse()]);
    expect(all.body.orders[0]).toMatchObject({ customerId: customer.customerId, status: 'COMPENSATED' });
    expect(all.body.orders[1]).toMatchObject({ status: 'COMPLETED', total: 20, executionStatus: 'COMPLETED' });
    expect(all.body.nextPageToken).toBeNull();

    const completed = await http(h.baseUrl, 'GET', `/orders?customerId=${customer.customerId}&status=COMPLETED`);
    expect(ids_(completed)).toEqual(ids);

    const first = await http(h.baseUrl, 'GET', `/orders?customerId=${customer.customerId}&pageSize=3`);
    expect(first.body.orders).toHaveLength(3);
    expect(typeof first.body.nextPageToken).toBe('string');
    const second = await http(
      h.baseUrl,
      'GET',
      `/orders?customerId=${customer.customerId}&pageSize=3&nextPageToken=${first.body.nextPageToken}`,
    );
    expect(second.status).toBe(200);
    expect(ids_(second)).toEqual([ids[2]]);
    expect(second.body.nextPageToken).toBeNull();

    // A token is bound to its filters, and a made-up one is refused
    const otherFilters = await http(h.baseUrl, 'GET', `/orders?pageSize=3&nextPageToken=${first.body.nextPageToken}`);
    expect(otherFilters.status).toBe(400);
    expect(otherFilters.body.errors[0].path).toBe('query.nextPageToken');
    for (const token of ['garbage', Buffer.from('{"f":"x","t":"eA"}').toString('base64url'), 'a+b']) {
      expect((await http(h.baseUrl, 'GET', `/orders?nextPageToken=${encodeURIComponent(token)}`)).status).toBe(400);
    }
  });

  test.each([
    ['status=DONE', 'query.status'],
    ['pageSize=0', 'query.pageSize'],
    ['pageSize=101', 'query.pageSize'],
    ['pageSize=abc', 'query.pageSize'],
    ["customerId=x'%20OR%20'1'='1", 'query.customerId'],
    ['customerId[$gt]=', 'query.customerId[$gt]'],
    ['status=RUNNING&status=COMPLETED', 'query.status'],
    ['sort=asc', 'query.sort'],
  ])('rejects %s with 400 naming %s', async (qs, path) => {
    const res = await http(h.baseUrl, 'GET', `/orders?${qs}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((res.body as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(path);
  });
});

describe('POST /orders/:orderId/cancel', () => {
  test('cancels a running saga: its completed steps are undone in reverse and the state says cancelled', async () => {
    const date = nextDate();
    const body = orderBody(s, { quantity: 3, deliveryDate: date });
    const before = await snapshot(h, s, date);
    holdPayment(orderWorkflowId(body.orderId));
    await startOrder(body);
    const handle = h.client.workflow.getHandle(orderWorkflowId(body.orderId));
    await waitForSaga(handle, {
      statuses: [SagaStatus.RUNNING],
      timeoutMs: 10_000,
    });
    await eventually(
      () => http(h.baseUrl, 'GET', `/orders/${body.orderId}`),
      (r) => atPayment(r.body),
    );

    const cancel = await http(h.baseUrl, 'POST', `/orders/${body.orderId}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.body).toEqual({ orderId: body.orderId, cancelRequested: true, status: 'RUNNING' });
    h.hooks.release(orderWorkflowId(body.orderId));

    const state = await waitForSaga<OrderState>(handle, { statuses: [SagaStatus.COMPENSATED] });
    expect(state.cancelled).toBe(true);
    expect(state.failure?.type).toBe('Cancelled');
    expect(state.steps.filter((x) => x.compensation).map((x) => x.status)).toEqual(
      state.steps.filter((x) => x.compensation).map(() => 'COMPENSATED'),
    );
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const after = await snapshot(h, s, date, body.orderId);
    expect(after).toEqual({ ...before, chargedCents: 0, liveShipments: 0 });

    // Cancelling it again changes nothing
    const again = await http(h.baseUrl, 'POST', `/orders/${body.orderId}/cancel`);
    expect(again.status).toBe(409);
    expect((await http(h.baseUrl, 'GET', `/orders/${body.orderId}`)).body).toEqual(state);
  });

  test('cancelling a completed saga answers 409 and changes nothing', async () => {
    const date = nextDate();
    const { body } = await startOrder(orderBody(s, { deliveryDate: date }));
    const handle = h.client.workflow.getHandle(orderWorkflowId(body.orderId));
    await sagaResult(handle); // closed: local steps' times are the same on every read (docs/sagas.md)
    const done = await waitForSaga<OrderState>(handle);
    expect(done.status).toBe('COMPLETED');
    const before = await snapshot(h, s, date, body.orderId);

    const res = await http(h.baseUrl, 'POST', `/orders/${body.orderId}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:problem:conflict', status: 409 });
    expect(await snapshot(h, s, date, body.orderId)).toEqual(before);
    expect((await http(h.baseUrl, 'GET', `/orders/${body.orderId}`)).body).toEqual(done);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });

  test('cancelling an unknown order answers 404', async () => {
    expect((await http(h.baseUrl, 'POST', `/orders/${unique('nope')}/cancel`)).status).toBe(404);
  });
});

describe('GET /orders/:orderId/events', () => {
  test('streams the current state first, then every change in order, and closes when the saga completes', async () => {
    const body = orderBody(s, { deliveryDate: nextDate() });
    holdPayment(orderWorkflowId(body.orderId));
    await startOrder(body);
    await eventually(
      () => http(h.baseUrl, 'GET', `/orders/${body.orderId}`),
      (r) => atPayment(r.body),
    );
    // A late client: the saga is already at its payment step.
    let seen = 0;
    const streamed = readEvents(`${h.baseUrl}/orders/${body.orderId}/events`, {
      onEvent: () => {
        if (++seen === 1) setTimeout(() => h.hooks.release(orderWorkflowId(body.orderId)), 500);
      },
    });
    const { status, headers, events } = await streamed;

    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(headers.get('cache-control')).toMatch(/no-cache/);
    const states = events.filter((e) => e.event === 'state').map((e) => e.data as OrderState);
    expect(states[0]!.steps.map((x) => [x.name, x.status])).toEqual([
      ['priceOrder', 'COMPLETED'],
      ['reserveCredit', 'COMPLETED'],
      ['reserveInventory', 'COMPLETED'],
      ['processPayment', 'RUNNING'],
    ]);
    expect(states.length).toBeGreaterThanOrEqual(2);
    // In order: each event has at least as many steps as the one before, and the last one is final
    for (let i = 1; i < states.length; i++) {
      expect(states[i]!.steps.length).toBeGreaterThanOrEqual(states[i - 1]!.steps.length);
      expect(JSON.stringify(states[i])).not.toEqual(JSON.stringify(states[i - 1]));
    }
    expect(states.at(-1)!.status).toBe('COMPLETED');
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'COMPLETED' } });
    // Every domain event of the saga once, in order, its SSE id its sequence; the stream as GET …/domain-events has it.
    const domain = events.filter((e) => e.event === 'domain-event');
    expect(domain.map((e) => e.id)).toEqual(domain.map((_, i) => String(i + 1)));
    expect(domain.map((e) => e.data)).toEqual(
      (await http(h.baseUrl, 'GET', `/orders/${body.orderId}/domain-events`)).body,
    );
    expect(domain.at(-1)!.data).toMatchObject({ type: 'SagaCompleted' });
    expect(events.filter((e) => e.event !== 'domain-event').every((e) => e.id === undefined)).toBe(true);
  });

  test('a client connecting after the end gets the final state and the end at once', async () => {
    const { body } = await startOrder();
    const handle = h.client.workflow.getHandle(orderWorkflowId(body.orderId));
    await waitForSaga(handle);
    await sagaResult(handle);
    // Read once the run is closed (and out of the worker's cache), as the stream reads it: a state read while the
    // last workflow task was still cached can carry the local steps' times of the live run, which a replay of the
    // history gives a few milliseconds apart (docs/sagas.md, "Step times").
    const final = await waitForSaga(handle);
    const { events } = await readEvents(`${h.baseUrl}/orders/${body.orderId}/events`);
    const stream = (await http(h.baseUrl, 'GET', `/orders/${body.orderId}/domain-events`)).body as {
      sequence: number;
    }[];
    expect(stream.length).toBeGreaterThan(5);
    expect(events).toEqual([
      { event: 'state', data: final, id: undefined },
      ...stream.map((e) => ({ event: 'domain-event', data: e, id: String(e.sequence) })),
      { event: 'end', data: { status: 'COMPLETED' }, id: undefined },
    ]);
    // Reconnecting with the last id it saw, a client gets only the events after it.
    const resumed = await readEvents(`${h.baseUrl}/orders/${body.orderId}/events`, {
      headers: { 'Last-Event-ID': String(stream.length - 2) },
    });
    expect(resumed.events.map((e) => [e.event, e.id])).toEqual([
      ['state', undefined],
      ['domain-event', String(stream.length - 1)],
      ['domain-event', String(stream.length)],
      ['end', undefined],
    ]);
  });

  test('many clients following one saga cost one reader: each gets every event once, and Temporal is not asked per client', async () => {
    // An API that reads every 10 ms, on a client that counts the queries it sends (a test hook as an interceptor).
    let queries = 0;
    const counted = new Client({
      connection: h.client.connection,
      dataConverter: dataConverterFromEnv(),
      interceptors: {
        workflow: [
          {
            query: (input, next) => {
              queries++;
              return next(input);
            },
          },
        ],
      },
    });
    const server = createApp({
      temporal: counted,
      db: h.db,
      taskQueue: h.taskQueue,
      bodyLimit: 100_000,
      auth: testAuthenticator(),
      eventsPollMs: 10,
    }).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const body = orderBody(s, { deliveryDate: nextDate() });
    holdPayment(orderWorkflowId(body.orderId));
    try {
      await startOrder(body);
      await eventually(
        () => http(h.baseUrl, 'GET', `/orders/${body.orderId}`),
        (r) => atPayment(r.body),
      );
      const followers = 20;
      let opened = 0;
      // A client counts as open at its first event (its first state, read once for it); later events do not count.
      const streams = Array.from({ length: followers }, () => {
        let first = true;
        return readEvents(`${baseUrl}/orders/${body.orderId}/events`, {
          onEvent: () => {
            if (first) opened += 1;
            first = false;
          },
        });
      });
      await eventually(
        () => Promise.resolve(opened),
        (n) => n >= followers,
      );
      const before = queries;
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // 100 polls at 10 ms, for each of 20 clients
      const whileHeld = queries - before;
      h.hooks.release(orderWorkflowId(body.orderId));
      const results = await Promise.all(streams);
      const stream = (await http(h.baseUrl, 'GET', `/orders/${body.orderId}/domain-events`)).body as unknown[];
      expect(stream.length).toBeGreaterThan(5);
      for (const { events } of results) {
        expect(events.filter((e) => e.event === 'domain-event').map((e) => e.data)).toEqual(stream);
        expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'COMPLETED' } });
      }
      // Nothing happens while the payment is held: the one reader reads MongoDB, and asks Temporal nothing.
      expect(whileHeld).toBe(0);
      // In all: each client's first state, and one read of the state per batch of new events (shared).
      expect(queries).toBeLessThanOrEqual(followers + 10);
    } finally {
      h.hooks.release(orderWorkflowId(body.orderId));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  });

  test('an unknown order answers 404 as problem+json, not a stream', async () => {
    const res = await readEvents(`${h.baseUrl}/orders/${unique('nope')}/events`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  test('a stream that stays open for many polls holds one abort listener, not one more per poll', async () => {
    // An API that polls every 10 ms: 1.5 s open is well over the 11 polls after which a leak warns.
    const server = createApp({
      temporal: h.client,
      db: h.db,
      taskQueue: h.taskQueue,
      bodyLimit: 100_000,
      auth: testAuthenticator(),
      eventsPollMs: 10,
    }).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The most `abort` listeners any one signal (or other EventTarget) held at once while the stream was open;
    // past 10, Node warns (MaxListenersExceededWarning).
    let most = 0;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, and called with its `this`
    const add = EventTarget.prototype.addEventListener;
    EventTarget.prototype.addEventListener = function (this: EventTarget, ...args: Parameters<typeof add>) {
      add.apply(this, args);
      if (args[0] === 'abort') most = Math.max(most, getEventListeners(this, 'abort').length);
    };
    const body = orderBody(s, { deliveryDate: nextDate() });
    holdPayment(orderWorkflowId(body.orderId));
    try {
      await startOrder(body);
      await eventually(
        () => http(h.baseUrl, 'GET', `/orders/${body.orderId}`),
        (r) => atPayment(r.body),
      );
      const stop = new AbortController();
      const streamed = readEvents(`${baseUrl}/orders/${body.orderId}/events`, { signal: stop.signal });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      stop.abort();
      const { events } = await streamed;
      expect(events[0]).toMatchObject({ event: 'state', data: { status: 'RUNNING' } });
      expect(most).toBeLessThanOrEqual(2);
    } finally {
      EventTarget.prototype.addEventListener = add;
      h.hooks.release(orderWorkflowId(body.orderId));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await waitForSaga(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
  });
});

describe('POST /orders with Idempotency-Key', () => {
  const countKeys = () => h.db.collection(IDEMPOTENCY_COLLECTION).countDocuments();

  test('a retry with the same key and body answers the first answer and starts nothing more', async () => {
    const key = unique('key');
    const { orderId: _omit, ...body } = orderBody(s, { deliveryDate: nextDate() });
    const first = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    const retry = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('location')).toBe(`/orders/${first.body.orderId}`);

    const runs = await eventually(
      async () => {
        const list: string[] = [];
        for await (const w of h.client.workflow.list({ query: `WorkflowId = '${first.body.workflowId}'` })) {
          list.push(w.runId);
        }
        return list;
      },
      (l) => l.length > 0,
    );
    expect(runs).toEqual([first.body.runId]);
  });

  test('concurrent duplicates with one key (and no orderId) start one saga and all answer it', async () => {
    const key = unique('key');
    const { orderId: _omit, ...body } = orderBody(s, { deliveryDate: nextDate() });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key })),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    const orderIds = new Set(answers.map((a) => a.body.orderId as string));
    expect(orderIds.size).toBe(1);
    expect(new Set(answers.map((a) => a.body.runId as string)).size).toBe(1);
  });

  test('the same key with a different body answers 422 and starts nothing', async () => {
    const key = unique('key');
    const body = orderBody(s, { deliveryDate: nextDate() });
    expect((await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key })).status).toBe(202);
    const other = orderBody(s, { deliveryDate: nextDate() });
    const res = await http(h.baseUrl, 'POST', '/orders', other, { 'Idempotency-Key': key });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ type: 'urn:problem:unprocessable', status: 422 });
    await expect(h.client.workflow.getHandle(orderWorkflowId(other.orderId)).describe()).rejects.toThrow();
  });

  test('a key older than the retention (24 h) counts as new: with another body it starts that order', async () => {
    const key = unique('key');
    const dayAndAnHourAgo = new Date(Date.now() - 25 * 60 * 60 * 1000);
    await idempotencyKeys(h.db).insertOne({
      _id: key,
      requestHash: 'a body of long ago',
      orderId: unique('old'),
      response: { status: 202, body: { orderId: 'long ago' } },
      createdAt: dayAndAnHourAgo,
    });
    const body = orderBody(s, { deliveryDate: nextDate() });
    const res = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect(res.status).toBe(202);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(res.body.orderId).toBe(body.orderId);
    await h.client.workflow.getHandle(orderWorkflowId(body.orderId)).describe(); // started
    const record = await idempotencyKeys(h.db).findOne({ _id: key });
    expect(record?.orderId).toBe(body.orderId);
    expect(record!.createdAt.getTime()).toBeGreaterThan(dayAndAnHourAgo.getTime());
    // and from now on it is an ordinary key again: a retry replays
    const retry = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(res.body);
  });

  test('expired records are deleted, recent ones kept', async () => {
    const keys = idempotencyKeys(h.db);
    const [old, recent] = [unique('old'), unique('recent')];
    const record = (createdAt: Date) => ({ requestHash: 'h', orderId: unique('o'), response: null, createdAt });
    await keys.insertOne({ _id: old, ...record(new Date(Date.now() - 25 * 60 * 60 * 1000)) });
    await keys.insertOne({ _id: recent, ...record(new Date(Date.now() - 23 * 60 * 60 * 1000)) });
    expect(await purgeExpiredKeys(keys)).toBe(1);
    expect(await keys.countDocuments({ _id: old })).toBe(0);
    expect(await keys.countDocuments({ _id: recent })).toBe(1);
  });

  test('a key with a 409 answer replays the 409', async () => {
    const body = orderBody(s, { deliveryDate: nextDate() });
    await startOrder(body); // without a key
    const key = unique('key');
    const first = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect(first.status).toBe(409);
    const again = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(again.body).toEqual(first.body);
  });

  test.each([['has space'], ['x'.repeat(129)], ['cl\u00e9 latin-1'], ['{"$gt":""}']])(
    'an invalid key %j answers 400 and nothing is written',
    async (key) => {
      const before = await countKeys();
      const body = orderBody(s, { deliveryDate: nextDate() });
      const res = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('header.Idempotency-Key');
      expect(await countKeys()).toBe(before);
      await expect(h.client.workflow.getHandle(orderWorkflowId(body.orderId)).describe()).rejects.toThrow();
    },
  );
});

describe('POST /orders for a customer that does not exist', () => {
  /**
   * Documents in any collection that name this order, its customer or its Idempotency-Key (other tests' sagas may
   * still be writing elsewhere, so whole-collection counts would not do).
   */
  async function traces(orderId: string, customerId: string, key: string): Promise<Record<string, number>> {
    const names = (await h.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    const filter = {
      $or: [
        { _id: key },
        { _id: customerId },
        { orderId },
        { customerId },
        { _id: { $regex: `^${orderWorkflowId(orderId)}:` } },
      ],
    };
    const result: Record<string, number> = {};
    for (const name of names) {
      const n = await h.db.collection(name).countDocuments(filter as never);
      if (n > 0) result[name] = n;
    }
    return result;
  }

  test('answers 422 naming the customer, starts and writes nothing; with the customer created a retry starts it', async () => {
    const customerId = unique('nobody');
    const body = { ...orderBody(s, { deliveryDate: nextDate() }), customerId };
    const key = unique('key');
    expect(await traces(body.orderId, customerId, key)).toEqual({});

    const res = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:problem:unprocessable', status: 422 });
    expect(res.body.detail).toContain(customerId);
    await expect(h.client.workflow.getHandle(orderWorkflowId(body.orderId)).describe()).rejects.toThrow(
      WorkflowNotFoundError,
    );
    expect(await traces(body.orderId, customerId, key)).toEqual({}); // not even the Idempotency-Key is claimed
    expect((await http(h.baseUrl, 'POST', '/orders', body)).status).toBe(422); // without a key too

    // The same request with the same key, once the customer exists, is a first request.
    const created = await http(h.baseUrl, 'POST', '/customers', { id: customerId, name: 'Late', creditLimit: 1000 });
    expect(created.status).toBe(201);
    const retry = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.body.orderId).toBe(body.orderId);
    const done = await waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
    expect(done.status).toBe('COMPLETED');
  });

  test('the saga itself still refuses an unknown customer when started directly: COMPENSATED, UnknownCustomer', async () => {
    const body = { ...orderBody(s, { deliveryDate: nextDate() }), customerId: unique('nobody') };
    const state = await waitForSaga<OrderState>(await startOrderSaga(h, body));
    expect(state.status).toBe('COMPENSATED');
    expect(state.failure?.type).toBe('UnknownCustomer');
  });
});

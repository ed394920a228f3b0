import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { createApp } from '../../api/app';
import { secretBox } from '../../codec/secret-box';
import { orderWorkflowId } from '../../common/order';
import { fulfilmentWorkflowId } from '../../common/order-fulfilment';
import { TRANSPORT_ORDER, transportWorkflowId } from '../../common/transport';
import { freePort, repoRoot, startTemporalDevServer, type TemporalDevServer } from '../../scripts/lib/servers';
import { addVehicle, orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { authHeaders, http, requireEnv, startHarness, waitForSaga, type Harness } from '../support/harness';
import { testAuthenticator } from '../support/lane';
import { ContractChecker, eventually, readEvents } from './support';
import { startOrderSaga } from '../faults/support';
import { sagaResult } from '../../common/saga-result';

/**
 * Contract tests: every response below is checked against the OpenAPI document the API serves (status,
 * content type, body schema, Retry-After). Each test says which operations it answers for and asserts that it saw
 * every documented response of those (their 503s: the last describe, for every operation), and one test checks that
 * these claims together cover the whole document; so no test depends on another having run.
 */
let contract: ContractChecker;
let h: Harness;
/**
 * Holds the saga's payment until `h.hooks.release` (so that a test can see, and cancel, a saga mid-way); let go after
 * 6 s at the latest, well inside the activity's 10 s start-to-close timeout.
 */
const holdPayment = (workflowId: string) => h.hooks.hold(workflowId, 'processPayment', { maxHoldMs: 6_000 });
let s: Seeded;

async function call(
  method: string,
  docPath: string,
  urlPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
  baseUrl = h.baseUrl,
) {
  const res = await http(baseUrl, method, urlPath, body, headers);
  contract.check(method, docPath, res);
  return res;
}

/** A body that is not JSON: the documented 415. */
async function callWithText(method: string, docPath: string, urlPath: string) {
  const res = await fetch(`${h.baseUrl}${urlPath}`, {
    method,
    headers: { 'content-type': 'text/plain', ...authHeaders() },
    body: 'x',
  });
  const checked = { status: res.status, headers: res.headers, body: await res.json() };
  contract.check(method, docPath, checked);
  return checked;
}

/** Over the test API's 100 000-byte body limit: the documented 413. */
const oversized = (body: object) => ({ ...body, pad: 'x'.repeat(200_000) });

beforeAll(async () => {
  h = await startHarness('contract');
  await addVehicle(h, 100);
  s = await seed(h);
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => {
  contract = new ContractChecker();
});

/** The `/sagas/{type}/…` operations of one saga type, as the document names them. */
function sagaOperationPaths(type: string): string[] {
  const base = `/sagas/${type}`;
  const item = `${base}/{orderId}`;
  return [
    `POST ${base}`,
    `GET ${base}`,
    `GET ${item}`,
    `GET ${item}/domain-events`,
    `POST ${item}/cancel`,
    `POST ${item}/retry-compensation`,
    `POST ${item}/skip-compensation`,
    `GET ${item}/events`,
    `GET ${item}/plan`,
  ];
}

/** The operations each test answers for: it exercises every documented response of them but the 503. */
const claims = {
  document: ['GET /openapi.json'],
  customers: ['POST /customers', 'GET /customers/{id}'],
  products: ['POST /products', 'GET /products/{sku}'],
  vehicles: ['POST /vehicles', 'GET /vehicles/{id}'],
  parcels: ['POST /parcels', 'GET /parcels/{id}'],
  transportVehicles: ['POST /transport-vehicles', 'GET /transport-vehicles/{id}'],
  orders: [
    'POST /orders',
    'GET /orders',
    'GET /orders/{orderId}',
    'POST /orders/{orderId}/cancel',
    'GET /orders/{orderId}/events',
    'GET /orders/{orderId}/domain-events',
  ],
  retry: ['POST /orders/{orderId}/retry-compensation', 'POST /orders/{orderId}/skip-compensation'],
  health: ['GET /health', 'GET /ready'],
  metrics: ['GET /metrics'],
  transportOrders: [
    'POST /transport-orders',
    'GET /transport-orders/{orderId}',
    'POST /transport-orders/{orderId}/approve',
    'POST /transport-orders/{orderId}/reject',
    'GET /transport-orders/{orderId}/domain-events',
  ],
  transportCancelRetry: [
    'POST /transport-orders/{orderId}/cancel',
    'POST /transport-orders/{orderId}/retry-compensation',
    'POST /transport-orders/{orderId}/skip-compensation',
  ],
  loyalty: ['GET /customers/{id}/loyalty'],
  sagaCatalogue: ['GET /sagas'],
  'sagas:order': [...sagaOperationPaths('order'), 'GET /orders/{orderId}/plan'],
  'sagas:transport-order': [...sagaOperationPaths('transport-order'), 'GET /transport-orders/{orderId}/plan'],
  'sagas:order-fulfilment': sagaOperationPaths('order-fulfilment'),
  codec: ['POST /codec/encode', 'POST /codec/decode'],
  codecSignIn: ['GET /codec/session', 'POST /codec/session', 'POST /codec/session/sign-out'],
  webhooks: [
    'POST /webhooks',
    'GET /webhooks',
    'GET /webhooks/{id}',
    'DELETE /webhooks/{id}',
    'POST /webhooks/{id}/enable',
    'GET /webhooks/{id}/deliveries',
  ],
  sagaConfig: [
    'GET /saga-config/order',
    'PUT /saga-config/order',
    'GET /saga-config/order/history',
    'GET /saga-config/transport-order',
    'PUT /saga-config/transport-order',
    'GET /saga-config/transport-order/history',
    'GET /saga-config/order-fulfilment',
    'PUT /saga-config/order-fulfilment',
    'GET /saga-config/order-fulfilment/history',
  ],
};

/** An HTML form's POST (the codec sign-in), with no bearer header unless `headers` gives one. */
function callForm(docPath: string, body: string, headers: Record<string, string> = {}, baseUrl = h.baseUrl) {
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: '', ...headers };
  return call('POST', docPath, docPath, body, form, baseUrl);
}

/** Answers of every guarded operation that test/api/auth.test.ts checks against the document, for every one. */
const authAnswers = / (401|403|429)$/;

/**
 * Asserts that this test saw every documented response of `ops` (but their 503s, unless `only503`, and the 401 and
 * 403 of authentication, which auth.test.ts checks for every operation, and the 429 of abuse.test.ts).
 */
function expectEveryResponseSeen(ops: readonly string[], { only503 = false } = {}) {
  const expected = contract
    .documented()
    .filter(
      (key) => ops.some((op) => key.startsWith(`${op} `)) && key.endsWith(' 503') === only503 && !authAnswers.test(key),
    );
  expect(expected.length).toBeGreaterThan(0);
  expect(expected.filter((key) => !contract.seen.has(key))).toEqual([]);
}

/** The parts of the served document the first test reads. */
interface ServedDocument {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string; schema: object }[];
        requestBody?: { content: Record<string, { schema: { properties: Record<string, object> } }> };
        responses: Record<string, { headers?: Record<string, object>; content: Record<string, object> }>;
      }
    >
  >;
}

describe('the OpenAPI document', () => {
  test('is served at /openapi.json as OpenAPI 3.1, generated from the request schemas', async () => {
    const res = await call('GET', '/openapi.json', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as ServedDocument;
    expect(doc.openapi).toBe('3.1.0');
    const body = (path: string) => doc.paths[path]!.post!.requestBody!.content['application/json']!.schema;
    // The constraints the validation enforces, as the document states them
    expect(body('/orders').properties.items).toMatchObject({ minItems: 1, maxItems: 100 });
    expect(body('/orders').properties.deliveryDate).toMatchObject({ format: 'date', pattern: expect.any(String) });
    expect(body('/customers').properties.creditLimit).toMatchObject({ multipleOf: 0.01, minimum: 0 });
    expect(body('/parcels').properties.weightKg).toMatchObject({ multipleOf: 0.001, exclusiveMinimum: 0 });
    expect(body('/transport-orders').properties.parcelIds).toMatchObject({ uniqueItems: true, maxItems: 50 });
    expect(body('/customers').properties.name).toMatchObject({ minLength: 1, maxLength: 200 });
    const pageSize = doc.paths['/orders']!.get!.parameters!.find((p) => p.name === 'pageSize');
    expect(pageSize).toMatchObject({ in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } });
    const key = doc.paths['/orders']!.post!.parameters!.find((p) => p.name === 'Idempotency-Key');
    expect(key).toMatchObject({ in: 'header', schema: { type: 'string', pattern: expect.any(String) } });
    expect(doc.paths['/orders']!.post!.responses['503']!.headers!['Retry-After']).toMatchObject({ required: true });
    expect(doc.paths['/orders']!.post!.responses['202']!.headers!.Location).toMatchObject({ required: true });
    expect(Object.keys(doc.paths['/orders/{orderId}/events']!.get!.responses['200']!.content)).toEqual([
      'text/event-stream',
    ]);
    expectEveryResponseSeen(claims.document);
  });

  test('accepts by its request schemas exactly what the validation accepts', () => {
    const samples: [string, unknown, boolean][] = [
      ['/customers', { name: 'C', creditLimit: 10.25 }, true],
      ['/customers', { name: 'C', creditLimit: 10.255 }, false],
      ['/customers', { name: 'C', creditLimit: -1 }, false],
      ['/customers', { name: '', creditLimit: 1 }, false],
      ['/customers', { name: '  ', creditLimit: 1 }, false],
      ['/customers', { name: 'x'.repeat(201), creditLimit: 1 }, false],
      ['/products', { sku: 'p', name: 'P', price: 1.5, stock: 3 }, true],
      ['/products', { sku: 'p', name: 'P', price: 1.5, stock: 1.5 }, false],
      ['/parcels', { weightKg: 0.125 }, true],
      ['/parcels', { weightKg: 0.0001 }, false],
      ['/parcels', { weightKg: 0 }, false],
      ['/transport-orders', { customerId: 'c', parcelIds: ['a', 'b'] }, true],
      ['/transport-orders', { customerId: 'c', parcelIds: ['a', 'a'] }, false],
      ['/orders', orderBody(s, { deliveryDate: '2027-05-01' }), true],
      ['/orders', { ...orderBody(s), items: [] }, false],
      ['/orders', { ...orderBody(s), deliveryDate: '1 May 2027' }, false],
      ['/orders', { ...orderBody(s), extra: 1 }, false],
    ];
    for (const [path, sample, valid] of samples) {
      expect([path, sample, contract.acceptsBody('POST', path, sample)]).toEqual([path, sample, valid]);
    }
  });

  test('Swagger UI is served at /docs from local files', async () => {
    const page = await fetch(`${h.baseUrl}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/docs/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${h.baseUrl}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });
});

describe('participants', () => {
  test.each([
    ['/customers', '/customers/{id}', (id: string) => ({ id, name: 'C', creditLimit: 10 })],
    ['/products', '/products/{sku}', (id: string) => ({ sku: id, name: 'P', price: 1.5, stock: 3 })],
    ['/vehicles', '/vehicles/{id}', (id: string) => ({ id, name: 'V', capacityPerDay: 2 })],
    ['/parcels', '/parcels/{id}', (id: string) => ({ id, weightKg: 1.5 })],
    [
      '/transport-vehicles',
      '/transport-vehicles/{id}',
      (id: string) => ({ id, name: 'T', capacityKg: 500, pricePerService: 20 }),
    ],
  ] as const)('%s: every documented answer', async (collection, itemPath, make) => {
    const id = unique('p');
    expect((await call('POST', collection, collection, make(id))).status).toBe(201);
    expect((await call('POST', collection, collection, make(id))).status).toBe(409);
    expect((await call('POST', collection, collection, { ...make(id), extra: 1 })).status).toBe(400);
    expect((await call('POST', collection, collection, { ...make(id), pad: 'x'.repeat(200_000) })).status).toBe(413);
    const text = await fetch(`${h.baseUrl}${collection}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...authHeaders() },
      body: 'x',
    });
    contract.check('POST', collection, { status: text.status, headers: text.headers, body: await text.json() });
    expect(text.status).toBe(415);
    expect((await call('GET', itemPath, `${collection}/${id}`)).status).toBe(200);
    expect((await call('GET', itemPath, `${collection}/${unique('none')}`)).status).toBe(404);
    expect((await call('GET', itemPath, `${collection}/bad$id`)).status).toBe(400);
    expectEveryResponseSeen([`POST ${collection}`, `GET ${itemPath}`]);
  });
});

describe('webhooks', () => {
  test('create, list, read, enable, deliveries, delete: every documented answer', async () => {
    const body = { url: 'http://localhost:9/hook', eventTypes: ['SagaCompleted'] };
    const created = await call('POST', '/webhooks', '/webhooks', body);
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect(created.headers.get('location')).toBe(`/webhooks/${id}`);
    expect((await call('POST', '/webhooks', '/webhooks', { ...body, eventTypes: ['Nope'] })).status).toBe(400);
    expect((await call('POST', '/webhooks', '/webhooks', { ...body, url: 'https://elsewhere.example/h' })).status).toBe(
      422,
    );
    expect((await call('POST', '/webhooks', '/webhooks', oversized(body))).status).toBe(413);
    expect((await callWithText('POST', '/webhooks', '/webhooks')).status).toBe(415);
    expect((await call('GET', '/webhooks', '/webhooks')).status).toBe(200);
    for (const [method, docPath, urlPath] of [
      ['GET', '/webhooks/{id}', `/webhooks/${id}`],
      ['POST', '/webhooks/{id}/enable', `/webhooks/${id}/enable`],
      ['GET', '/webhooks/{id}/deliveries', `/webhooks/${id}/deliveries`],
    ] as const) {
      expect([urlPath, (await call(method, docPath, urlPath)).status]).toEqual([urlPath, 200]);
      expect((await call(method, docPath, '/webhooks/wh_0000000000000000'.concat(docPath.slice(14)))).status).toBe(404);
      expect((await call(method, docPath, '/webhooks/bad'.concat(docPath.slice(14)))).status).toBe(400);
    }
    expect((await call('DELETE', '/webhooks/{id}', `/webhooks/${id}`)).status).toBe(204);
    expect((await call('DELETE', '/webhooks/{id}', `/webhooks/${id}`)).status).toBe(404);
    expect((await call('DELETE', '/webhooks/{id}', '/webhooks/bad')).status).toBe(400);
    expectEveryResponseSeen(claims.webhooks);
  });
});

describe('saga configuration', () => {
  test('read, put, history of each saga type: every documented answer', async () => {
    for (const [type, body] of [
      ['order', { steps: { reserveVehicle: { mode: 'regular' } } }],
      ['transport-order', { steps: { awaitDecision: { deadlineSeconds: 60 } } }],
      ['order-fulfilment', { steps: { chargePayment: { mode: 'regular' } } }],
    ] as const) {
      const path = `/saga-config/${type}`;
      await h.db.collection('sagaConfigs').deleteMany({ sagaType: type });
      expect((await call('GET', path, path)).status).toBe(404);
      expect((await call('PUT', path, path, body)).status).toBe(200);
      expect((await call('GET', path, path)).status).toBe(200);
      expect((await call('PUT', path, path, { ...body, extra: 1 })).status).toBe(400);
      expect((await call('PUT', path, path, oversized(body))).status).toBe(413);
      expect((await callWithText('PUT', path, path)).status).toBe(415);
      expect((await call('GET', `${path}/history`, `${path}/history`)).status).toBe(200);
    }
    expectEveryResponseSeen(claims.sagaConfig);
  });
});

describe('orders', () => {
  test('start, read, list, follow, cancel: every documented answer', async () => {
    const body = orderBody(s, { deliveryDate: '2027-05-01' });
    const started = await call('POST', '/orders', '/orders', body);
    expect(started.status).toBe(202);
    expect((await call('POST', '/orders', '/orders', body)).status).toBe(409);
    expect((await call('POST', '/orders', '/orders', { ...body, items: [] })).status).toBe(400);
    expect((await call('POST', '/orders', '/orders', { ...body, pad: 'x'.repeat(200_000) })).status).toBe(413);
    const text = await fetch(`${h.baseUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...authHeaders() },
      body: 'x',
    });
    contract.check('POST', '/orders', { status: text.status, headers: text.headers, body: await text.json() });
    const key = unique('key');
    const keyed = orderBody(s, { deliveryDate: '2027-05-02' });
    expect((await call('POST', '/orders', '/orders', keyed, { 'Idempotency-Key': key })).status).toBe(202);
    expect((await call('POST', '/orders', '/orders', keyed, { 'Idempotency-Key': key })).status).toBe(202);
    expect(
      (await call('POST', '/orders', '/orders', { ...keyed, orderId: unique('o') }, { 'Idempotency-Key': key })).status,
    ).toBe(422);

    const closed = h.client.workflow.getHandle(orderWorkflowId(body.orderId));
    await waitForSaga(closed);
    // Compare local steps' times only between reads of a closed saga (docs/sagas.md, "Step times").
    await sagaResult(closed);
    const final = await waitForSaga(closed);
    expect((await call('GET', '/orders/{orderId}', `/orders/${body.orderId}`)).body).toEqual(final);
    expect((await call('GET', '/orders/{orderId}', `/orders/${unique('none')}`)).status).toBe(404);
    expect((await call('GET', '/orders/{orderId}', '/orders/a%20b')).status).toBe(400);
    const domainEvents = '/orders/{orderId}/domain-events';
    const stored = await call('GET', domainEvents, `/orders/${body.orderId}/domain-events`);
    expect(stored.status).toBe(200);
    expect((stored.body as { type: string }[]).at(-1)?.type).toBe('SagaCompleted');
    expect((await call('GET', domainEvents, `/orders/${unique('none')}/domain-events`)).status).toBe(404);
    expect((await call('GET', domainEvents, '/orders/a%20b/domain-events')).status).toBe(400);

    const listed = await eventually(
      () => call('GET', '/orders', `/orders?customerId=${s.customerId}&pageSize=1`),
      (r) => (r.body as { orders: unknown[] }).orders.length === 1,
    );
    expect(listed.status).toBe(200);
    expect(listed.body.orders).toHaveLength(1);
    expect((await call('GET', '/orders', '/orders?pageSize=1000')).status).toBe(400);

    const stream = await readEvents(`${h.baseUrl}/orders/${body.orderId}/events`);
    contract.check('GET', '/orders/{orderId}/events', stream);
    for (const [urlPath, status] of [
      [`/orders/${unique('none')}/events`, 404],
      ['/orders/%24gt/events', 400],
    ] as const) {
      const r = await readEvents(`${h.baseUrl}${urlPath}`);
      contract.check('GET', '/orders/{orderId}/events', r);
      expect(r.status).toBe(status);
    }

    const running = orderBody(s, { deliveryDate: '2027-05-03' });
    holdPayment(orderWorkflowId(running.orderId));
    await call('POST', '/orders', '/orders', running);
    expect(
      (
        await eventually(
          () => http(h.baseUrl, 'GET', `/orders/${running.orderId}`),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
    expect((await call('POST', '/orders/{orderId}/cancel', `/orders/${running.orderId}/cancel`)).status).toBe(202);
    h.hooks.release(orderWorkflowId(running.orderId));
    expect((await call('POST', '/orders/{orderId}/cancel', `/orders/${body.orderId}/cancel`)).status).toBe(409);
    expect((await call('POST', '/orders/{orderId}/cancel', `/orders/${unique('none')}/cancel`)).status).toBe(404);
    expect((await call('POST', '/orders/{orderId}/cancel', '/orders/%7B%7D/cancel')).status).toBe(400);
    const cancelDone = `/orders/${body.orderId}/cancel`;
    expect((await call('POST', '/orders/{orderId}/cancel', cancelDone, { reason: 7 })).status).toBe(400);
    expect((await call('POST', '/orders/{orderId}/cancel', cancelDone, oversized({}))).status).toBe(413);
    expect((await callWithText('POST', '/orders/{orderId}/cancel', cancelDone)).status).toBe(415);
    expectEveryResponseSeen(claims.orders);
  });

  test('retry-compensation: every documented answer', async () => {
    const retry = '/orders/{orderId}/retry-compensation';
    // A saga whose compensation fails for good (the harness's hooks, docs/faults.md).
    const body = orderBody(s, { token: 'tok_declined', deliveryDate: '2027-05-05' });
    h.hooks.add({ workflowId: orderWorkflowId(body.orderId), activity: 'releaseCredit', fatal: 'always' });
    const handle = await startOrderSaga(h, body);
    expect((await waitForSaga(handle)).status).toBe('FAILED');
    expect((await call('POST', retry, `/orders/${body.orderId}/retry-compensation`)).status).toBe(202);
    await handle.terminate('contract test done');
    const finished = orderBody(s, { deliveryDate: '2027-05-06' });
    await call('POST', '/orders', '/orders', finished);
    await waitForSaga(h.client.workflow.getHandle(orderWorkflowId(finished.orderId)));
    expect((await call('POST', retry, `/orders/${finished.orderId}/retry-compensation`)).status).toBe(409);
    expect((await call('POST', retry, `/orders/${unique('none')}/retry-compensation`)).status).toBe(404);
    expect((await call('POST', retry, '/orders/%7B%7D/retry-compensation')).status).toBe(400);
    const retryDone = `/orders/${finished.orderId}/retry-compensation`;
    expect((await call('POST', retry, retryDone, { reason: 'x'.repeat(501) })).status).toBe(400);
    expect((await call('POST', retry, retryDone, oversized({}))).status).toBe(413);
    expect((await callWithText('POST', retry, retryDone)).status).toBe(415);

    const skip = '/orders/{orderId}/skip-compensation';
    const stuck = orderBody(s, { token: 'tok_declined', deliveryDate: '2027-05-07' });
    h.hooks.add({ workflowId: orderWorkflowId(stuck.orderId), activity: 'releaseCredit', fatal: 'always' });
    const stuckHandle = await startOrderSaga(h, stuck);
    expect((await waitForSaga(stuckHandle)).status).toBe('FAILED');
    const skipUrl = `/orders/${stuck.orderId}/skip-compensation`;
    expect((await call('POST', skip, skipUrl, {})).status).toBe(400); // no reason
    expect((await call('POST', skip, skipUrl, { reason: 'by hand' })).status).toBe(202);
    await waitForSaga(stuckHandle, { statuses: ['COMPENSATED'] });
    expect((await call('POST', skip, skipUrl, { reason: 'by hand' })).status).toBe(409);
    expect((await call('POST', skip, `/orders/${unique('none')}/skip-compensation`, { reason: 'r' })).status).toBe(404);
    expect((await call('POST', skip, skipUrl, oversized({ reason: 'r' }))).status).toBe(413);
    expect((await callWithText('POST', skip, skipUrl)).status).toBe(415);
    expectEveryResponseSeen(claims.retry);
  });

  test('health and readiness', async () => {
    expect((await call('GET', '/health', '/health')).body).toEqual({ status: 'ok' });
    expect((await call('GET', '/ready', '/ready')).body).toEqual({
      status: 'ready',
      checks: { temporal: 'ok', mongodb: 'ok' },
    });
    expectEveryResponseSeen(claims.health);
  });

  test('metrics: Prometheus text, requests labelled by the path template, refusals by reason', async () => {
    await call('GET', '/orders/{orderId}', `/orders/${unique('nope')}`);
    await call('GET', '/orders/{orderId}', `/orders/${unique('nope')}`, undefined, { authorization: '' });
    const res = await call('GET', '/metrics', '/metrics', undefined, { authorization: `Bearer ${h.keys.metrics}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body as string;
    expect(text).toMatch(/^api_requests_total\{route="\/orders\/:orderId",method="GET",status="404"\} [1-9]/m);
    expect(text).toMatch(/^api_request_duration_seconds_bucket\{le="0\.1",route="\/orders\/:orderId",/m);
    expect(text).toMatch(/^api_requests_refused_total\{reason="authentication"\} [1-9]/m);
    expect(text).not.toMatch(/nope-/); // never the raw URL
    expectEveryResponseSeen(claims.metrics);
  });
});

describe('transport orders and loyalty', () => {
  const start = '/transport-orders';
  const item = '/transport-orders/{orderId}';
  const approve = '/transport-orders/{orderId}/approve';
  const reject = '/transport-orders/{orderId}/reject';

  async function startWithParcel(): Promise<{ orderId: string; customerId: string; parcelIds: string[] }> {
    const parcel = await call('POST', '/parcels', '/parcels', { weightKg: 2 });
    const body = { orderId: unique('tr'), customerId: s.customerId, parcelIds: [parcel.body.id as string] };
    const started = await call('POST', start, start, body);
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/transport-orders/${body.orderId}`);
    return body;
  }

  /** Until the saga waits for approve or reject (or has stopped running). */
  async function pending(orderId: string) {
    const res = await eventually(
      () => call('GET', item, `/transport-orders/${orderId}`),
      (r) => r.status === 200 && (r.body.pendingDecision !== null || r.body.status !== 'RUNNING'),
    );
    expect(res.body).toMatchObject({ status: 'RUNNING', pendingDecision: { deadline: expect.any(String) } });
    return res;
  }

  test('start, read, approve, reject: every documented answer', async () => {
    expect(
      (
        await call('POST', '/transport-vehicles', '/transport-vehicles', {
          name: 'T',
          capacityKg: 100,
          pricePerService: 5,
        })
      ).status,
    ).toBe(201);
    const approved = await startWithParcel();
    expect((await call('POST', start, start, approved)).status).toBe(409);
    expect((await call('POST', start, start, { ...approved, orderId: unique('tr'), parcelIds: [] })).status).toBe(400);
    expect((await call('POST', start, start, oversized(approved))).status).toBe(413);
    expect((await callWithText('POST', start, start)).status).toBe(415);
    const nobody = { ...approved, orderId: unique('tr'), customerId: unique('nobody') };
    expect((await call('POST', start, start, nobody)).status).toBe(422);
    // No orderId: the key's record fixes the generated one. A 1 s decision timeout: the saga then ends by itself.
    const keyedParcel = await call('POST', '/parcels', '/parcels', { weightKg: 1 });
    const keyed = { customerId: s.customerId, parcelIds: [keyedParcel.body.id as string], decisionTimeoutSeconds: 1 };
    const key = { 'Idempotency-Key': unique('key') };
    const keyedStart = await call('POST', start, start, keyed, key);
    expect(keyedStart.status).toBe(202);
    const replayed = await call('POST', start, start, keyed, key);
    expect([replayed.status, replayed.body, replayed.headers.get('idempotent-replayed')]).toEqual([
      202,
      keyedStart.body,
      'true',
    ]);
    expect((await call('POST', start, start, { ...keyed, priority: 'HIGH' }, key)).status).toBe(422);
    expect(replayed.headers.get('location')).toBe(`/transport-orders/${keyedStart.body.orderId as string}`);
    expect((await call('POST', start, start, keyed, { 'Idempotency-Key': 'no spaces' })).status).toBe(400);

    await pending(approved.orderId);
    expect((await call('GET', item, `/transport-orders/${unique('none')}`)).status).toBe(404);
    expect((await call('GET', item, '/transport-orders/%24gt')).status).toBe(400);

    const approveUrl = `/transport-orders/${approved.orderId}/approve`;
    expect((await call('POST', approve, approveUrl, { extra: 1 })).status).toBe(400);
    expect((await call('POST', approve, approveUrl, oversized({}))).status).toBe(413);
    expect((await callWithText('POST', approve, approveUrl)).status).toBe(415);
    const accepted = await call('POST', approve, approveUrl);
    expect([accepted.status, accepted.body]).toEqual([202, { orderId: approved.orderId, decision: 'APPROVED' }]);
    expect((await call('POST', approve, approveUrl, {})).status).toBe(202); // a retry is harmless
    expect((await call('POST', approve, `/transport-orders/${unique('none')}/approve`)).status).toBe(404);
    expect((await call('POST', approve, '/transport-orders/%7B%7D/approve')).status).toBe(400);
    const rejectApproved = `/transport-orders/${approved.orderId}/reject`;
    expect((await call('POST', reject, rejectApproved, { reason: 'late' })).status).toBe(409);
    await waitForSaga(h.client.workflow.getHandle(transportWorkflowId(approved.orderId)));
    expect((await call('GET', item, `/transport-orders/${approved.orderId}`)).body).toMatchObject({
      status: 'COMPLETED',
      decision: 'APPROVED',
    });

    const rejected = await startWithParcel();
    await pending(rejected.orderId);
    const rejectUrl = `/transport-orders/${rejected.orderId}/reject`;
    expect((await call('POST', reject, rejectUrl, { reason: '' })).status).toBe(400);
    expect((await call('POST', reject, rejectUrl, oversized({}))).status).toBe(413);
    expect((await callWithText('POST', reject, rejectUrl)).status).toBe(415);
    expect((await call('POST', reject, rejectUrl, { reason: 'too dear' })).status).toBe(202);
    expect((await call('POST', approve, `/transport-orders/${rejected.orderId}/approve`)).status).toBe(409);
    expect((await call('POST', reject, `/transport-orders/${unique('none')}/reject`, {})).status).toBe(404);
    expect((await call('POST', reject, '/transport-orders/%24gt/reject', {})).status).toBe(400);
    const final = await waitForSaga(h.client.workflow.getHandle(transportWorkflowId(rejected.orderId)));
    expect(final.status).toBe('COMPENSATED');
    const domainEvents = '/transport-orders/{orderId}/domain-events';
    const stream = await eventually(
      () => call('GET', domainEvents, `/transport-orders/${rejected.orderId}/domain-events`),
      (r) => r.status === 200 && (r.body as { type: string }[]).at(-1)?.type === 'SagaCompensated',
    );
    expect((stream.body as { sagaType: string }[])[0]?.sagaType).toBe('transport-order');
    expect((await call('GET', domainEvents, `/transport-orders/${unique('none')}/domain-events`)).status).toBe(404);
    expect((await call('GET', domainEvents, '/transport-orders/%24gt/domain-events')).status).toBe(400);
    expectEveryResponseSeen(claims.transportOrders);
  });

  test('cancel, retry-compensation: every documented answer', async () => {
    const cancel = '/transport-orders/{orderId}/cancel';
    const retry = '/transport-orders/{orderId}/retry-compensation';
    const running = await startWithParcel();
    await pending(running.orderId);
    expect((await call('POST', retry, `/transport-orders/${running.orderId}/retry-compensation`)).status).toBe(409);
    expect((await call('POST', cancel, `/transport-orders/${running.orderId}/cancel`)).status).toBe(202);
    await waitForSaga(h.client.workflow.getHandle(transportWorkflowId(running.orderId)));
    expect((await call('POST', cancel, `/transport-orders/${running.orderId}/cancel`)).status).toBe(409);
    for (const [doc, verb] of [
      [cancel, 'cancel'],
      [retry, 'retry-compensation'],
    ] as const) {
      expect((await call('POST', doc, `/transport-orders/${unique('none')}/${verb}`)).status).toBe(404);
      expect((await call('POST', doc, `/transport-orders/%7B%7D/${verb}`)).status).toBe(400);
      const url = `/transport-orders/${running.orderId}/${verb}`;
      expect((await call('POST', doc, url, oversized({}))).status).toBe(413);
      expect((await callWithText('POST', doc, url)).status).toBe(415);
    }
    // A saga whose compensation fails for good (the harness's hooks, docs/faults.md).
    const orderId = unique('tr');
    const workflowId = transportWorkflowId(orderId);
    h.hooks.add({ workflowId, activity: 'cancelTransportOrder', fatal: 'always' });
    const handle = await h.client.workflow.start(TRANSPORT_ORDER, {
      taskQueue: h.taskQueue,
      workflowId,
      args: [{ orderId, customerId: s.customerId, parcelIds: [unique('none')] }],
    });
    expect((await waitForSaga(handle)).status).toBe('FAILED');
    expect((await call('POST', retry, `/transport-orders/${orderId}/retry-compensation`)).status).toBe(202);
    await handle.terminate('contract test done');

    const skip = '/transport-orders/{orderId}/skip-compensation';
    const skipOf = (id: string) => `/transport-orders/${id}/skip-compensation`;
    expect((await call('POST', skip, skipOf(running.orderId), { reason: 'by hand' })).status).toBe(409);
    expect((await call('POST', skip, skipOf(unique('none')), { reason: 'r' })).status).toBe(404);
    expect((await call('POST', skip, skipOf(running.orderId), {})).status).toBe(400);
    expect((await call('POST', skip, skipOf(running.orderId), oversized({ reason: 'r' }))).status).toBe(413);
    expect((await callWithText('POST', skip, skipOf(running.orderId))).status).toBe(415);
    const stuckId = unique('tr');
    h.hooks.add({ workflowId: transportWorkflowId(stuckId), activity: 'cancelTransportOrder', fatal: 'always' });
    const stuck = await h.client.workflow.start(TRANSPORT_ORDER, {
      taskQueue: h.taskQueue,
      workflowId: transportWorkflowId(stuckId),
      args: [{ orderId: stuckId, customerId: s.customerId, parcelIds: [unique('none')] }],
    });
    expect((await waitForSaga(stuck)).status).toBe('FAILED');
    expect((await call('POST', skip, skipOf(stuckId), { reason: 'cancelled by hand' })).status).toBe(202);
    await waitForSaga(stuck, { statuses: ['COMPENSATED'] });
    expectEveryResponseSeen(claims.transportCancelRetry);
  });

  test('loyalty: every documented answer', async () => {
    const loyalty = '/customers/{id}/loyalty';
    const res = await call('GET', loyalty, `/customers/${s.customerId}/loyalty`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ customerId: s.customerId });
    expect((await call('GET', loyalty, `/customers/${unique('none')}/loyalty`)).status).toBe(404);
    expect((await call('GET', loyalty, '/customers/bad$id/loyalty')).status).toBe(400);
    expectEveryResponseSeen(claims.loyalty);
  });
});

describe('the codec endpoint', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const jsonPayload = { metadata: { encoding: b64('json/plain') }, data: b64('{"city":"Codec Marker City"}') };

  test('encode, decode: every documented answer; what it encodes is encrypted, and decodes back', async () => {
    const ns = { 'X-Namespace': 'default' };
    const encoded = await call('POST', '/codec/encode', '/codec/encode', { payloads: [jsonPayload] }, ns);
    expect(encoded.status).toBe(200);
    const [payload] = (encoded.body as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    expect(Buffer.from(payload!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(payload!.data, 'base64').toString('latin1')).not.toContain('Codec Marker City');
    const decoded = await call('POST', '/codec/decode', '/codec/decode', { payloads: [payload] }, ns);
    expect(decoded.body).toEqual({ payloads: [jsonPayload] });
    // a body without `payloads` (the CLI's, for a query without arguments) is an empty list
    expect((await call('POST', '/codec/encode', '/codec/encode', {})).body).toEqual({ payloads: [] });

    const unknownKey = {
      metadata: { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('retired-7') },
      data: b64('x'.repeat(40)),
    };
    const refused = await call('POST', '/codec/decode', '/codec/decode', { payloads: [unknownKey] });
    expect(refused.status).toBe(400);
    expect((refused.body as { detail: string }).detail).toMatch(/key id 'retired-7'/);
    const notBase64 = { payloads: [{ data: 'not base64!' }] };
    expect((await call('POST', '/codec/encode', '/codec/encode', notBase64)).status).toBe(400);
    for (const path of ['/codec/encode', '/codec/decode']) {
      expect((await call('POST', path, path, oversized({ payloads: [] }))).status).toBe(413);
      expect((await callWithText('POST', path, path)).status).toBe(415);
    }
    expectEveryResponseSeen(claims.codec);
  });

  test("CORS for the Web UI's origin only: its preflight is answered, any other origin's is not", async () => {
    const uiOrigin = new URL(requireEnv('TEMPORAL_UI_URL')).origin;
    const preflight = (origin: string) =>
      fetch(`${h.baseUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace',
        },
      });
    const ok = await preflight(uiOrigin);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST');
    // The Web UI may send the codec session's cookie (credentials: 'include')
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/content-type.*x-namespace/);
    const other = await preflight('http://evil.example');
    expect(other.status).toBe(405);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
    // the request itself, from the UI's origin, carries the header; the rest of the API sends none
    const post = await http(h.baseUrl, 'POST', '/codec/decode', { payloads: [] }, { origin: uiOrigin });
    expect(post.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    const health = await http(h.baseUrl, 'GET', '/health', undefined, { origin: uiOrigin });
    expect(health.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe("the codec endpoint's browser sign-in", () => {
  let offServer: Server | undefined;
  afterAll(async () => {
    await new Promise<void>((resolve) => (offServer ? offServer.close(() => resolve()) : resolve()));
  });

  test('the page, sign-in and sign-out: every documented answer', async () => {
    const page = await call('GET', '/codec/session', '/codec/session', undefined, { authorization: '' });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<form method="post" action="/codec/session">');
    const credential = `credential=${encodeURIComponent(h.keys.reader)}`;
    const signedIn = await callForm('/codec/session', credential);
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    expect(
      await call('GET', '/codec/session', '/codec/session', undefined, { authorization: '', cookie }),
    ).toMatchObject({
      status: 200,
      body: expect.stringContaining('Signed in as test-reader'),
    });
    expect((await callForm('/codec/session', `${credential}&role=operator`)).status).toBe(400);
    expect((await callForm('/codec/session', `credential=${'x'.repeat(200_000)}`)).status).toBe(413);
    const json = await call(
      'POST',
      '/codec/session',
      '/codec/session',
      { credential: h.keys.reader },
      { authorization: '' },
    );
    expect(json.status).toBe(415);
    const out = await call('POST', '/codec/session/sign-out', '/codec/session/sign-out', undefined, { cookie });
    expect(out.status).toBe(200);

    // With API_AUTH=off there is nothing to sign in to.
    const off = createApp({ temporal: h.client, db: h.db, taskQueue: h.taskQueue, bodyLimit: 100_000, auth: 'off' });
    offServer = off.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => offServer!.once('listening', () => resolve()));
    const offUrl = `http://127.0.0.1:${(offServer.address() as AddressInfo).port}`;
    expect((await callForm('/codec/session', credential, {}, offUrl)).status).toBe(409);
    expectEveryResponseSeen(claims.codecSignIn);
  });
});

describe('the generic saga API', () => {
  test('GET /sagas: every documented answer', async () => {
    const res = await call('GET', '/sagas', '/sagas');
    expect(res.status).toBe(200);
    expectEveryResponseSeen(claims.sagaCatalogue);
  });

  let date = 0;
  const nextDate = () => `2027-06-${String(++date).padStart(2, '0')}`;

  test.each(['order', 'transport-order', 'order-fulfilment'] as const)(
    '/sagas/%s: start, list, read, follow, cancel, retry, skip, plan: every documented answer',
    async (sagaType) => {
      // The order-fulfilment saga takes an order's body and behaves as one here; it has no path of its own.
      const type = sagaType === 'order-fulfilment' ? 'order' : sagaType;
      const base = `/sagas/${sagaType}`;
      const item = `${base}/{orderId}`;
      const ownPlans =
        sagaType === 'order-fulfilment' ? [] : [`${type === 'order' ? '/orders' : '/transport-orders'}/{orderId}/plan`];
      const workflowId =
        sagaType === 'order-fulfilment'
          ? fulfilmentWorkflowId
          : type === 'order'
            ? orderWorkflowId
            : transportWorkflowId;
      if (type === 'transport-order') {
        const vehicle = { name: 'Van', capacityKg: 1000, pricePerService: 40 };
        expect((await call('POST', '/transport-vehicles', '/transport-vehicles', vehicle)).status).toBe(201);
      }
      /** A body this type's start accepts; the order saga's completes, the transport order's waits for a decision. */
      const newBody = async (): Promise<{ orderId: string; customerId: string } & Record<string, unknown>> => {
        if (type === 'order') return orderBody(s, { deliveryDate: nextDate() });
        const parcel = await call('POST', '/parcels', '/parcels', { weightKg: 1 });
        return { orderId: unique('tr'), customerId: s.customerId, parcelIds: [parcel.body.id as string] };
      };
      const url = (orderId: string, suffix = '') => `${base}/${orderId}${suffix}`;

      // start: 202, 409, 400, 413, 415, 422
      const a = await newBody();
      expect((await call('POST', base, base, a)).status).toBe(202);
      expect((await call('POST', base, base, a)).status).toBe(409);
      const invalid = type === 'order' ? { ...a, items: [] } : { ...a, parcelIds: [] };
      expect((await call('POST', base, base, invalid)).status).toBe(400);
      expect((await call('POST', base, base, oversized(a))).status).toBe(413);
      expect((await callWithText('POST', base, base)).status).toBe(415);
      const key = unique('key');
      const keyed = await newBody();
      expect((await call('POST', base, base, keyed, { 'Idempotency-Key': key })).status).toBe(202);
      const other = { ...keyed, orderId: unique('o') };
      expect((await call('POST', base, base, other, { 'Idempotency-Key': key })).status).toBe(422);

      // a settles: the order completes, the transport order waits for its decision
      await eventually(
        () => http(h.baseUrl, 'GET', url(a.orderId)),
        (r) => r.status === 200 && (r.body.status !== 'RUNNING' || r.body.pendingDecision != null),
      );
      for (const path of [item, `${item}/domain-events`, `${item}/plan`, ...ownPlans]) {
        const concrete = (orderId: string) => path.replace('{orderId}', orderId);
        expect((await call('GET', path, concrete(a.orderId))).status).toBe(200);
        expect((await call('GET', path, concrete(unique('none')))).status).toBe(404);
        expect((await call('GET', path, concrete('a%20b'))).status).toBe(400);
      }
      const listed = await eventually(
        () => call('GET', base, `${base}?customerId=${s.customerId}&pageSize=1`),
        (r) => r.status === 200 && (r.body as { orders: unknown[] }).orders.length === 1,
      );
      expect(listed.status).toBe(200);
      expect((await call('GET', base, `${base}?pageSize=1000`)).status).toBe(400);
      for (const [orderId, status] of [
        [unique('none'), 404],
        ['%24gt', 400],
      ] as const) {
        const r = await readEvents(`${h.baseUrl}${url(orderId, '/events')}`);
        contract.check('GET', `${item}/events`, r);
        expect(r.status).toBe(status);
      }

      // cancel: the order held at payment, the transport order waiting for its decision
      const running = type === 'order' ? await newBody() : a;
      if (type === 'order') {
        holdPayment(workflowId(running.orderId));
        expect((await call('POST', base, base, running)).status).toBe(202);
        await eventually(
          () => http(h.baseUrl, 'GET', url(running.orderId)),
          (r) => r.status === 200,
        );
      }
      expect((await call('POST', `${item}/cancel`, url(running.orderId, '/cancel'))).status).toBe(202);
      h.hooks.release(workflowId(running.orderId));
      await waitForSaga(h.client.workflow.getHandle(workflowId(running.orderId)));
      const stream = await readEvents(`${h.baseUrl}${url(running.orderId, '/events')}`);
      contract.check('GET', `${item}/events`, stream);
      expect(stream.status).toBe(200);
      const done = url(running.orderId, '/cancel');
      expect((await call('POST', `${item}/cancel`, done)).status).toBe(409);
      expect((await call('POST', `${item}/cancel`, url(unique('none'), '/cancel'))).status).toBe(404);
      expect((await call('POST', `${item}/cancel`, url('%7B%7D', '/cancel'))).status).toBe(400);
      expect((await call('POST', `${item}/cancel`, done, { reason: 7 })).status).toBe(400);
      expect((await call('POST', `${item}/cancel`, done, oversized({}))).status).toBe(413);
      expect((await callWithText('POST', `${item}/cancel`, done)).status).toBe(415);

      // retry-compensation: a saga whose first compensation fails for good
      const failing = await newBody();
      // The first compensation to run after a declined payment (the transport order's: after a cancel).
      const undo =
        sagaType === 'order-fulfilment'
          ? 'releaseInventory'
          : type === 'order'
            ? 'releaseCredit'
            : 'cancelTransportOrder';
      h.hooks.add({ workflowId: workflowId(failing.orderId), activity: undo, fatal: 'always' });
      if (type === 'order') {
        expect((await call('POST', base, base, { ...failing, payment: { token: 'tok_declined' } })).status).toBe(202);
      } else {
        expect((await call('POST', base, base, failing)).status).toBe(202);
        await eventually(
          () => http(h.baseUrl, 'GET', url(failing.orderId)),
          (r) => r.status === 200 && r.body.pendingDecision != null,
        );
        expect((await http(h.baseUrl, 'POST', url(failing.orderId, '/cancel'))).status).toBe(202);
      }
      const failed = h.client.workflow.getHandle(workflowId(failing.orderId));
      expect((await waitForSaga(failed)).status).toBe('FAILED');
      const retry = `${item}/retry-compensation`;
      expect((await call('POST', retry, url(failing.orderId, '/retry-compensation'))).status).toBe(202);
      await failed.terminate('contract test done');
      expect((await call('POST', retry, url(running.orderId, '/retry-compensation'))).status).toBe(409);
      expect((await call('POST', retry, url(unique('none'), '/retry-compensation'))).status).toBe(404);
      expect((await call('POST', retry, url('%7B%7D', '/retry-compensation'))).status).toBe(400);
      const retryDone = url(running.orderId, '/retry-compensation');
      expect((await call('POST', retry, retryDone, { reason: 'x'.repeat(501) })).status).toBe(400);
      expect((await call('POST', retry, retryDone, oversized({}))).status).toBe(413);
      expect((await callWithText('POST', retry, retryDone)).status).toBe(415);

      // skip-compensation: another saga whose first compensation fails for good
      const skip = `${item}/skip-compensation`;
      const stuck = await newBody();
      h.hooks.add({ workflowId: workflowId(stuck.orderId), activity: undo, fatal: 'always' });
      if (type === 'order') {
        expect((await call('POST', base, base, { ...stuck, payment: { token: 'tok_declined' } })).status).toBe(202);
      } else {
        expect((await call('POST', base, base, stuck)).status).toBe(202);
        await eventually(
          () => http(h.baseUrl, 'GET', url(stuck.orderId)),
          (r) => r.status === 200 && r.body.pendingDecision != null,
        );
        expect((await http(h.baseUrl, 'POST', url(stuck.orderId, '/cancel'))).status).toBe(202);
      }
      const stuckHandle = h.client.workflow.getHandle(workflowId(stuck.orderId));
      expect((await waitForSaga(stuckHandle)).status).toBe('FAILED');
      const skipUrl = url(stuck.orderId, '/skip-compensation');
      expect((await call('POST', skip, skipUrl, {})).status).toBe(400); // no reason
      expect((await call('POST', skip, skipUrl, { reason: 'by hand' })).status).toBe(202);
      await waitForSaga(stuckHandle, { statuses: ['COMPENSATED'] });
      expect((await call('POST', skip, skipUrl, { reason: 'by hand' })).status).toBe(409);
      expect((await call('POST', skip, url(unique('none'), '/skip-compensation'), { reason: 'r' })).status).toBe(404);
      expect((await call('POST', skip, skipUrl, oversized({ reason: 'r' }))).status).toBe(413);
      expect((await callWithText('POST', skip, skipUrl)).status).toBe(415);
      expectEveryResponseSeen(claims[`sagas:${sagaType}`]);
    },
  );
});

describe('when Temporal and MongoDB cannot be reached', () => {
  let temporal: TemporalDevServer | undefined;
  let connection: Connection | undefined;
  let mongo: MongoClient | undefined;
  let server: Server | undefined;
  let baseUrl = '';

  beforeAll(async () => {
    temporal = await startTemporalDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      logFile: path.join(repoRoot, '.data', 'logs', `test-contract-temporal-${process.pid}.log`),
      truncateLog: true,
    });
    connection = await Connection.connect({ address: temporal.address });
    // A MongoDB nobody listens on: every operation fails server selection.
    mongo = new MongoClient(`mongodb://127.0.0.1:${await freePort()}`, { serverSelectionTimeoutMS: 300 });
    const app = createApp({
      temporal: new Client({ connection }),
      db: mongo.db('unreachable'),
      taskQueue: 'unreachable',
      bodyLimit: 100_000,
      auth: testAuthenticator(),
      temporalCallMs: 1_000,
      webhooks: { allowedHosts: ['hooks.example'], secrets: secretBox(undefined) },
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await temporal.stop();
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    await connection?.close();
    await mongo?.close();
    await temporal?.stop();
  });

  test('every operation answers 503 with Retry-After, and /ready says which dependency is down', async () => {
    const order = orderBody(s, { deliveryDate: '2027-05-04' });
    const calls: [string, string, string, unknown?][] = [
      ['POST', '/customers', '/customers', { name: 'C', creditLimit: 1 }],
      ['GET', '/customers/{id}', '/customers/c1'],
      ['POST', '/products', '/products', { sku: 'p1', name: 'P', price: 1, stock: 1 }],
      ['GET', '/products/{sku}', '/products/p1'],
      ['POST', '/vehicles', '/vehicles', { name: 'V', capacityPerDay: 1 }],
      ['GET', '/vehicles/{id}', '/vehicles/v1'],
      ['POST', '/orders', '/orders', order],
      ['GET', '/orders', '/orders'],
      ['GET', '/orders/{orderId}', `/orders/${order.orderId}`],
      ['POST', '/orders/{orderId}/cancel', `/orders/${order.orderId}/cancel`],
      ['POST', '/orders/{orderId}/retry-compensation', `/orders/${order.orderId}/retry-compensation`],
      ['POST', '/orders/{orderId}/skip-compensation', `/orders/${order.orderId}/skip-compensation`, { reason: 'r' }],
      ['GET', '/orders/{orderId}/events', `/orders/${order.orderId}/events`],
      ['GET', '/orders/{orderId}/domain-events', `/orders/${order.orderId}/domain-events`],
      ['POST', '/parcels', '/parcels', { weightKg: 1 }],
      ['GET', '/parcels/{id}', '/parcels/p1'],
      ['POST', '/transport-vehicles', '/transport-vehicles', { name: 'T', capacityKg: 1, pricePerService: 1 }],
      ['GET', '/transport-vehicles/{id}', '/transport-vehicles/t1'],
      ['POST', '/transport-orders', '/transport-orders', { customerId: 'c1', parcelIds: ['p1'] }],
      ['GET', '/transport-orders/{orderId}', '/transport-orders/t1'],
      ['GET', '/transport-orders/{orderId}/domain-events', '/transport-orders/t1/domain-events'],
      ['POST', '/transport-orders/{orderId}/cancel', '/transport-orders/t1/cancel'],
      ['POST', '/transport-orders/{orderId}/retry-compensation', '/transport-orders/t1/retry-compensation'],
      [
        'POST',
        '/transport-orders/{orderId}/skip-compensation',
        '/transport-orders/t1/skip-compensation',
        { reason: 'r' },
      ],
      ['POST', '/transport-orders/{orderId}/approve', '/transport-orders/t1/approve'],
      ['POST', '/transport-orders/{orderId}/reject', '/transport-orders/t1/reject', { reason: 'r' }],
      ['GET', '/customers/{id}/loyalty', '/customers/c1/loyalty'],
      ['POST', '/webhooks', '/webhooks', { url: 'https://hooks.example/h', eventTypes: ['*'] }],
      ['GET', '/webhooks', '/webhooks'],
      ['GET', '/webhooks/{id}', '/webhooks/wh_0000000000000000'],
      ['DELETE', '/webhooks/{id}', '/webhooks/wh_0000000000000000'],
      ['POST', '/webhooks/{id}/enable', '/webhooks/wh_0000000000000000/enable'],
      ['GET', '/webhooks/{id}/deliveries', '/webhooks/wh_0000000000000000/deliveries'],
      ['GET', '/saga-config/order', '/saga-config/order'],
      ['PUT', '/saga-config/order', '/saga-config/order', {}],
      ['GET', '/saga-config/order/history', '/saga-config/order/history'],
      ['GET', '/saga-config/transport-order', '/saga-config/transport-order'],
      ['PUT', '/saga-config/transport-order', '/saga-config/transport-order', {}],
      ['GET', '/saga-config/transport-order/history', '/saga-config/transport-order/history'],
      ['GET', '/saga-config/order-fulfilment', '/saga-config/order-fulfilment'],
      ['PUT', '/saga-config/order-fulfilment', '/saga-config/order-fulfilment', {}],
      ['GET', '/saga-config/order-fulfilment/history', '/saga-config/order-fulfilment/history'],
      ['GET', '/ready', '/ready'],
      ['GET', '/orders/{orderId}/plan', `/orders/${order.orderId}/plan`],
      ['GET', '/transport-orders/{orderId}/plan', '/transport-orders/t1/plan'],
      ...(['order', 'transport-order', 'order-fulfilment'] as const).flatMap((type) =>
        sagaOperationPaths(type).map((key): [string, string, string, unknown?] => {
          const [method = '', docPath = ''] = key.split(' ');
          const urlPath = docPath.replace('{orderId}', 'x1');
          const body = type === 'transport-order' ? { customerId: 'c1', parcelIds: ['p1'] } : order;
          const start = method === 'POST' && !docPath.includes('{orderId}');
          const skip = docPath.endsWith('/skip-compensation');
          return [method, docPath, urlPath, start ? body : skip ? { reason: 'r' } : undefined];
        }),
      ),
    ];
    // The codec sign-in keeps its sessions in MongoDB.
    const cookie = { cookie: `saga_codec_session=cs_${'A'.repeat(43)}` };
    const signIn = [
      await call('GET', '/codec/session', '/codec/session', undefined, cookie, baseUrl),
      await callForm(
        '/codec/session',
        `credential=${encodeURIComponent(authHeaders().authorization.slice(7))}`,
        {},
        baseUrl,
      ),
      await call('POST', '/codec/session/sign-out', '/codec/session/sign-out', undefined, cookie, baseUrl),
    ];
    expect(signIn.map((res) => res.status)).toEqual([503, 503, 503]);
    for (const [method, docPath, urlPath, body] of calls) {
      const res = await call(method, docPath, urlPath, body, {}, baseUrl);
      expect([docPath, res.status]).toEqual([docPath, 503]);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(JSON.stringify(res.body)).not.toMatch(/UNAVAILABLE|ECONNREFUSED|127\.0\.0\.1:\d|stack/);
    }
    const ready = await http(baseUrl, 'GET', '/ready');
    expect((ready.body as { checks: unknown }).checks).toEqual({ temporal: 'unavailable', mongodb: 'unavailable' });
    // Liveness does not depend on them
    expect((await call('GET', '/health', '/health', undefined, {}, baseUrl)).status).toBe(200);
    expectEveryResponseSeen(Object.values(claims).flat(), { only503: true });
  });
});

test('the tests above answer together for every documented response of every operation', () => {
  const claimed = Object.values(claims).flat();
  const unclaimed = new ContractChecker().documented().filter((key) => !claimed.some((op) => key.startsWith(`${op} `)));
  expect(unclaimed).toEqual([]);
});

import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import express from 'express';
import { apiKeyAuthenticator, authorize } from '../../api/auth';
import { errorHandler } from '../../api/errors';
import { openApiPath, type Operation } from '../../api/operation';
import { operations } from '../../api/operations';
import { orderWorkflowId } from '../../common/order';
import { allRoles, type Role } from '../../common/roles';
import { transportWorkflowId } from '../../common/transport';
import { apiKeys, createApiKey, hashApiKey, revokeApiKey } from '../../store/api-keys';
import { orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { http, startHarness, type Harness } from '../support/harness';
import { ContractChecker } from './support';

let h: Harness;
let s: Seeded;
/** Every 401 and 403 below is checked against the document the API serves (status, headers, problem+json body). */
const contract = new ContractChecker();

beforeAll(async () => {
  h = await startHarness('auth');
  s = await seed(h);
});
afterAll(async () => {
  await h?.stop();
});

/** Every collection's document count but the keys': a refused request must leave them as they were. */
async function counts(): Promise<Record<string, number>> {
  const names = (await h.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const result: Record<string, number> = {};
  for (const name of names.filter((n) => n !== 'apiKeys')) result[name] = await h.db.collection(name).countDocuments();
  return result;
}

const publicOperations = ['health', 'ready', 'openapi'];
/** Public too, but the sign-in checks the credential it is given itself (test/api/codec-session.test.ts). */
const signInOperations = ['codecSessionPage', 'codecSignIn', 'codecSignOut'];

/** A request each operation would accept from a caller with its role: refused, it must start and write nothing. */
function validRequest(id: string, op: Operation, orderId: string): { url: string; body?: unknown } {
  const url = op.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => (name === 'orderId' ? orderId : unique(name)));
  const bodies: Record<string, unknown> = {
    createCustomer: { id: unique('cust'), name: 'C', creditLimit: 10 },
    createProduct: { sku: unique('sku'), name: 'P', price: 1, stock: 1 },
    createVehicle: { id: unique('van'), name: 'V', capacityPerDay: 1 },
    startOrder: orderBody(s, { orderId }),
    createParcel: { weightKg: 1 },
    createTransportVehicle: { name: 'T', capacityKg: 1, pricePerService: 1 },
    startTransportOrder: { orderId, customerId: s.customerId, parcelIds: ['p1'] },
    'sagas.order.start': orderBody(s, { orderId }),
    'sagas.transport-order.start': { orderId, customerId: s.customerId, parcelIds: ['p1'] },
    createWebhook: { url: 'http://localhost:9/hook', eventTypes: ['*'] },
  };
  // A PUT of saga configuration: `{}` is a valid configuration (the definitions' own settings).
  return { url, body: op.method === 'post' || op.method === 'put' ? (bodies[id] ?? {}) : undefined };
}

const guarded = Object.entries(operations as Record<string, Operation>).filter(
  ([id]) => !publicOperations.includes(id) && !signInOperations.includes(id),
);

test('every operation of the table names its roles; only health, readiness, the document and the codec sign-in are public', () => {
  for (const [id, op] of Object.entries(operations as Record<string, Operation>)) {
    if (publicOperations.includes(id) || signInOperations.includes(id)) expect([id, op.roles]).toEqual([id, 'public']);
    else {
      expect(op.roles).not.toBe('public');
      expect(op.roles.length).toBeGreaterThan(0);
    }
  }
  // The classes of the issue: reads, writes, operator actions.
  const rolesOf = (id: string) => (operations as Record<string, Operation>)[id]!.roles;
  expect(rolesOf('getOrder')).toEqual(['reader']);
  expect(rolesOf('startOrder')).toEqual(['writer']);
  expect(rolesOf('createCustomer')).toEqual(['writer']);
  for (const id of ['cancelOrder', 'retryCompensation', 'approveTransportOrder', 'rejectTransportOrder']) {
    expect(rolesOf(id)).toEqual(['operator']);
  }
  // The scrape credential: GET /metrics needs the `metrics` role, and that role reads nothing else.
  expect(rolesOf('metrics')).toEqual(['metrics']);
  for (const [id, op] of Object.entries(operations as Record<string, Operation>)) {
    if (op.roles !== 'public') expect([id, op.roles.includes('metrics')]).toEqual([id, id === 'metrics']);
  }
});

test('a key with only the metrics role is refused every read but GET /metrics', async () => {
  const auth = { authorization: `Bearer ${h.keys.metrics}` };
  expect((await http(h.baseUrl, 'GET', '/orders', undefined, auth)).status).toBe(403);
  expect((await http(h.baseUrl, 'GET', `/customers/${s.customerId}`, undefined, auth)).status).toBe(403);
  expect((await http(h.baseUrl, 'GET', '/metrics', undefined, auth)).status).toBe(200);
});

describe.each(guarded)('%s', (id, op) => {
  const roles = op.roles as readonly Role[];
  const missing = allRoles.find((r) => !roles.includes(r))!;

  test.each([
    ['no credential', {}],
    ['an unknown key', { authorization: `Bearer sk_000000000000_${'A'.repeat(43)}` }],
    ['another scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['a malformed token', { authorization: 'Bearer not-a-key' }],
  ])('%s: 401 with WWW-Authenticate: Bearer, nothing started or written', async (_name, headers) => {
    const orderId = unique('auth');
    const { url, body } = validRequest(id, op, orderId);
    const before = await counts();
    const res = await http(h.baseUrl, op.method.toUpperCase(), url, body, { authorization: '', ...headers });
    expect(res.status).toBe(401);
    contract.check(op.method, openApiPath(op.path), res);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, type: 'urn:problem:unauthorized' });
    expect(await counts()).toEqual(before);
    for (const workflowId of [orderWorkflowId(orderId), transportWorkflowId(orderId)]) {
      await expect(h.client.workflow.getHandle(workflowId).describe()).rejects.toThrow(WorkflowNotFoundError);
    }
  });

  test(`a key without ${roles.join('/')}: 403, nothing started or written; with it: let through`, async () => {
    const orderId = unique('auth');
    const { url, body } = validRequest(id, op, orderId);
    const before = await counts();
    const method = op.method.toUpperCase();
    const refused = await http(h.baseUrl, method, url, body, { authorization: `Bearer ${h.keys[missing]}` });
    expect(refused.status).toBe(403);
    contract.check(op.method, openApiPath(op.path), refused);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 403, type: 'urn:problem:forbidden' });
    expect(await counts()).toEqual(before);
    await expect(h.client.workflow.getHandle(orderWorkflowId(orderId)).describe()).rejects.toThrow(
      WorkflowNotFoundError,
    );
    // The role it needs lets it through to validation and the handler (here: 404, or 400 for an empty body).
    const allowed = await http(h.baseUrl, method, url, op.method === 'post' || op.method === 'put' ? {} : undefined, {
      authorization: `Bearer ${h.keys[roles[0]!]}`,
    });
    expect([401, 403]).not.toContain(allowed.status);
  });
});

test('the document declares both bearer schemes, and for each guarded operation its security, 401 and 403', () => {
  const doc = contract.doc as unknown as {
    components: { securitySchemes: Record<string, { type: string; scheme: string; bearerFormat?: string }> };
    paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>>;
  };
  expect(doc.components.securitySchemes).toMatchObject({
    apiKey: { type: 'http', scheme: 'bearer' },
    jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    codecSession: { type: 'apiKey', in: 'cookie', name: 'saga_codec_session' },
  });
  for (const [id, op] of Object.entries(operations as Record<string, Operation>)) {
    const documented = doc.paths[openApiPath(op.path)]![op.method]!;
    if (publicOperations.includes(id) || signInOperations.includes(id)) {
      expect([id, documented.security]).toEqual([id, []]);
      if (publicOperations.includes(id)) expect(Object.keys(documented.responses)).not.toContain('401');
    } else {
      // The codec's two operations also take the browser's session cookie (the Web UI); no other does.
      const cookie = op.sessionCookie ? [{ codecSession: [] }] : [];
      expect([id, documented.security]).toEqual([id, [{ apiKey: [] }, { jwt: [] }, ...cookie]]);
      expect(Object.keys(documented.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
    }
  }
});

test.each(publicOperations)('%s needs no credential', async (id) => {
  const op = (operations as Record<string, Operation>)[id]!;
  const res = await http(h.baseUrl, 'GET', op.path, undefined, { authorization: '' });
  expect([200, 503]).toContain(res.status);
});

test('Swagger UI at /docs needs no credential', async () => {
  expect((await http(h.baseUrl, 'GET', '/docs', undefined, { authorization: '' })).status).toBe(200);
});

test('a stored key is only its SHA-256 hash, and a revoked key stops working within a second', async () => {
  const keys = apiKeys(h.db);
  const { id, key } = await createApiKey(keys, { name: 'to-revoke', roles: ['reader'] });
  const stored = await keys.findOne({ _id: id });
  expect(stored).toMatchObject({ name: 'to-revoke', roles: ['reader'], hash: hashApiKey(key) });
  expect(JSON.stringify(stored)).not.toContain(key.slice(-43));
  const read = () =>
    http(h.baseUrl, 'GET', `/customers/${s.customerId}`, undefined, { authorization: `Bearer ${key}` });
  expect((await read()).status).toBe(200);
  expect(await revokeApiKey(keys, id)).toBe(true);
  const revokedAt = Date.now();
  let status = (await read()).status;
  while (status === 200 && Date.now() - revokedAt < 3_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    status = (await read()).status;
  }
  expect(status).toBe(401);
  expect(Date.now() - revokedAt).toBeLessThanOrEqual(1_200); // cached at most 1 s, plus one request
});

test('keys are compared in constant time (crypto.timingSafeEqual), stored ones and configured ones', async () => {
  const spy = jest.spyOn(crypto, 'timingSafeEqual');
  try {
    const keys = apiKeys(h.db);
    const stored = await createApiKey(keys, { name: 'timing', roles: ['reader'] });
    const configured = `sk_${'1'.repeat(12)}_${'B'.repeat(43)}`;
    const auth = apiKeyAuthenticator({
      keys,
      configured: [
        { name: 'other', roles: ['writer'], hash: hashApiKey('x') },
        { name: 'env', roles: ['reader'], hash: hashApiKey(configured) },
      ],
    });
    expect(await auth.authenticate(configured)).toMatchObject({ name: 'env', roles: ['reader'] });
    expect(spy).toHaveBeenCalledTimes(2); // every configured key, not only up to the match
    spy.mockClear();
    expect(await auth.authenticate(stored.key)).toMatchObject({ name: 'timing', id: stored.id });
    expect(spy).toHaveBeenCalledTimes(3);
    spy.mockClear();
    expect(await auth.authenticate(`${stored.key.slice(0, -1)}x`)).toBeUndefined();
    expect(spy).toHaveBeenCalled();
  } finally {
    spy.mockRestore();
  }
});

test('who the caller is is attached to the request (res.locals.principal) for the handler', async () => {
  const key = `sk_${'2'.repeat(12)}_${'C'.repeat(43)}`;
  const app = express();
  const auth = apiKeyAuthenticator({ configured: [{ name: 'ops-bot', roles: ['operator'], hash: hashApiKey(key) }] });
  app.post('/x', authorize(auth, ['operator']), (_req, res) => void res.json(res.locals.principal));
  app.use(errorHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await http(base, 'POST', '/x', undefined, { authorization: `Bearer ${key}` });
    expect(res.body).toEqual({ kind: 'api-key', id: 'env:ops-bot', name: 'ops-bot', roles: ['operator'] });
  } finally {
    server.close();
  }
});

import { WorkflowNotFoundError } from '@temporalio/client';
import { orderWorkflowId } from '../../common/order';
import { orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { authHeaders, startHarness, type Harness } from '../support/harness';

let h: Harness;
let s: Seeded;

beforeAll(async () => {
  h = await startHarness('badinput');
  s = await seed(h);
});
afterAll(async () => h?.stop());

/** Every collection's document count: a rejected request must leave them all as they were. */
async function counts(): Promise<Record<string, number>> {
  const names = (await h.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const result: Record<string, number> = {};
  for (const name of names) result[name] = await h.db.collection(name).countDocuments();
  return result;
}

async function send(method: string, path: string, body: string | undefined, contentType = 'application/json') {
  const res = await fetch(`${h.baseUrl}${path}`, {
    method,
    headers: body === undefined ? authHeaders() : { 'content-type': contentType, ...authHeaders() },
    body,
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
}

type Order = ReturnType<typeof orderBody>;
interface Case {
  name: string;
  status: number;
  /** Path of the field the problem names (for 400s). */
  field?: string;
  method?: string;
  path?: string;
  contentType?: string;
  /** The raw body, or a change to a valid order (the order's id is then checked not to exist in Temporal). */
  raw?: string;
  order?: (o: Order) => unknown;
}

const huge = 'x'.repeat(10_000);
const cases: Case[] = [
  { name: 'malformed JSON', raw: '{"customerId": "c1", ', status: 400 },
  { name: 'a JSON string instead of an object', raw: '"an order"', status: 400 },
  { name: 'null', raw: 'null', status: 400 },
  { name: 'an array', raw: '[]', status: 400, field: 'body' },
  {
    name: 'quantity as a string',
    order: (o) => ({ ...o, items: [{ ...o.items[0], quantity: '2' }] }),
    status: 400,
    field: 'body.items.0.quantity',
  },
  { name: 'customerId as a number', order: (o) => ({ ...o, customerId: 42 }), status: 400, field: 'body.customerId' },
  { name: 'missing customerId', order: ({ customerId: _c, ...o }) => o, status: 400, field: 'body.customerId' },
  { name: 'missing items', order: ({ items: _i, ...o }) => o, status: 400, field: 'body.items' },
  { name: 'missing payment token', order: (o) => ({ ...o, payment: {} }), status: 400, field: 'body.payment.token' },
  {
    name: 'zero quantity',
    order: (o) => ({ ...o, items: [{ ...o.items[0], quantity: 0 }] }),
    status: 400,
    field: 'body.items.0.quantity',
  },
  {
    name: 'negative quantity',
    order: (o) => ({ ...o, items: [{ ...o.items[0], quantity: -1 }] }),
    status: 400,
    field: 'body.items.0.quantity',
  },
  {
    name: 'fractional quantity',
    order: (o) => ({ ...o, items: [{ ...o.items[0], quantity: 1.5 }] }),
    status: 400,
    field: 'body.items.0.quantity',
  },
  {
    name: 'huge quantity',
    order: (o) => ({ ...o, items: [{ ...o.items[0], quantity: 1e12 }] }),
    status: 400,
    field: 'body.items.0.quantity',
  },
  { name: 'quantity 1e400 (Infinity)', raw: 'ORDER_WITH_INFINITY', status: 400 },
  { name: 'empty item list', order: (o) => ({ ...o, items: [] }), status: 400, field: 'body.items' },
  {
    name: 'oversized item list',
    order: (o) => ({ ...o, items: Array.from({ length: 101 }, () => o.items[0]) }),
    status: 400,
    field: 'body.items',
  },
  { name: 'an unknown field', order: (o) => ({ ...o, discount: 100 }), status: 400, field: 'body.discount' },
  {
    name: 'an unknown nested field',
    order: (o) => ({ ...o, payment: { ...o.payment, amount: 1 } }),
    status: 400,
    field: 'body.payment.amount',
  },
  {
    name: 'February 30th',
    order: (o) => ({ ...o, deliveryDate: '2027-02-30' }),
    status: 400,
    field: 'body.deliveryDate',
  },
  { name: 'month 13', order: (o) => ({ ...o, deliveryDate: '2027-13-01' }), status: 400, field: 'body.deliveryDate' },
  {
    name: 'a date in words',
    order: (o) => ({ ...o, deliveryDate: 'tomorrow' }),
    status: 400,
    field: 'body.deliveryDate',
  },
  {
    name: 'a unicode customer id',
    order: (o) => ({ ...o, customerId: 'çustomer' }),
    status: 400,
    field: 'body.customerId',
  },
  { name: 'an emoji order id', order: (o) => ({ ...o, orderId: 'order-📦' }), status: 400, field: 'body.orderId' },
  {
    name: 'a right-to-left override in the country',
    order: (o) => ({ ...o, shippingAddress: { ...o.shippingAddress, country: '\u202eIE' } }),
    status: 400,
    field: 'body.shippingAddress.country',
  },
  {
    name: 'a very long address line',
    order: (o) => ({ ...o, shippingAddress: { ...o.shippingAddress, line1: huge } }),
    status: 400,
    field: 'body.shippingAddress.line1',
  },
  {
    name: 'a whitespace-only city',
    order: (o) => ({ ...o, shippingAddress: { ...o.shippingAddress, city: ' \t ' } }),
    status: 400,
    field: 'body.shippingAddress.city',
  },
  {
    name: 'a very long order id',
    order: (o) => ({ ...o, orderId: 'o'.repeat(65) }),
    status: 400,
    field: 'body.orderId',
  },
  {
    name: 'an operator object as customerId',
    order: (o) => ({ ...o, customerId: { $gt: '' } }),
    status: 400,
    field: 'body.customerId',
  },
  {
    name: 'an operator object as orderId',
    order: (o) => ({ ...o, orderId: { $ne: null } }),
    status: 400,
    field: 'body.orderId',
  },
  {
    name: 'an operator object as sku',
    order: (o) => ({ ...o, items: [{ sku: { $regex: '.*' }, quantity: 1 }] }),
    status: 400,
    field: 'body.items.0.sku',
  },
  { name: 'a $-key in the body', order: (o) => ({ ...o, $where: 'sleep(1000)' }), status: 400, field: 'body.$where' },
  { name: 'a $-prefixed id', order: (o) => ({ ...o, customerId: '$gt' }), status: 400, field: 'body.customerId' },
  { name: 'a body over the limit', order: (o) => ({ ...o, padding: 'x'.repeat(200_000) }), status: 413 },
  { name: 'a text/plain body', raw: 'ORDER', contentType: 'text/plain', status: 415 },
  { name: 'a form body', raw: 'customerId=c1', contentType: 'application/x-www-form-urlencoded', status: 415 },
  { name: 'JSON in Latin-1', raw: 'ORDER', contentType: 'application/json; charset=latin1', status: 415 },
  // Participant writes and reads
  {
    name: 'a customer with an operator object as id',
    method: 'POST',
    path: '/customers',
    raw: '{"id":{"$gt":""},"name":"A","creditLimit":1}',
    status: 400,
    field: 'body.id',
  },
  {
    name: 'a customer with a $-key',
    method: 'POST',
    path: '/customers',
    raw: '{"name":"A","creditLimit":1,"$set":{"creditLimit":9}}',
    status: 400,
    field: 'body.$set',
  },
  {
    name: 'a product with negative stock',
    method: 'POST',
    path: '/products',
    raw: '{"sku":"p1x","name":"A","price":1,"stock":-1}',
    status: 400,
    field: 'body.stock',
  },
  {
    name: 'a product priced in fractions of a cent',
    method: 'POST',
    path: '/products',
    raw: '{"sku":"p1y","name":"A","price":1.001,"stock":1}',
    status: 400,
    field: 'body.price',
  },
  {
    name: 'a vehicle with zero capacity',
    method: 'POST',
    path: '/vehicles',
    raw: '{"name":"V","capacityPerDay":0}',
    status: 400,
    field: 'body.capacityPerDay',
  },
  {
    name: 'an operator object in a path id',
    method: 'GET',
    path: `/customers/${encodeURIComponent('{"$gt":""}')}`,
    status: 400,
    field: 'params.id',
  },
  { name: 'a $-id in a path', method: 'GET', path: '/products/$where', status: 400, field: 'params.sku' },
  {
    name: 'an operator object as order id in a path',
    method: 'GET',
    path: `/orders/${encodeURIComponent('{"$ne":null}')}`,
    status: 400,
    field: 'params.orderId',
  },
  {
    name: 'an operator object in the listing filter',
    method: 'GET',
    path: '/orders?customerId[$ne]=x',
    status: 400,
    field: 'query.customerId[$ne]',
  },
];

describe('bad input is refused with a problem, and nothing is written or started', () => {
  test.each(cases)('$name → $status', async (c) => {
    const valid = orderBody(s, { orderId: unique('bad') });
    const method = c.method ?? 'POST';
    const path = c.path ?? '/orders';
    let raw = c.raw;
    if (raw === 'ORDER') raw = JSON.stringify(valid);
    if (raw === 'ORDER_WITH_INFINITY') raw = JSON.stringify(valid).replace('"quantity":2', '"quantity":1e400');
    if (c.order) raw = JSON.stringify(c.order(valid));
    const before = await counts();

    const res = await send(method, path, method === 'GET' ? undefined : raw, c.contentType);

    expect(res.status).toBe(c.status);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(res.text) as {
      type: string;
      title: string;
      status: number;
      detail: string;
      errors?: { path: string }[];
    };
    expect(problem).toMatchObject({ status: c.status, type: expect.stringMatching(/^urn:problem:/) as string });
    expect(typeof problem.title).toBe('string');
    expect(typeof problem.detail).toBe('string');
    if (c.field) expect(problem.errors?.map((e) => e.path)).toContain(c.field);
    // no stack traces or internal messages
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+|node_modules|Error:/);

    expect(await counts()).toEqual(before);
    if (path === '/orders' && method === 'POST') {
      await expect(h.client.workflow.getHandle(orderWorkflowId(valid.orderId)).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
    }
  });

  test('a wrong method on a known path answers 405 with Allow; an unknown path answers 404', async () => {
    const res = await send('DELETE', '/orders', undefined);
    expect(res.status).toBe(405);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    const put = await fetch(`${h.baseUrl}/orders/abc`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    expect((await send('GET', '/nothing-here', undefined)).status).toBe(404);
  });
});

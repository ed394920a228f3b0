import { orderWorkflowId, type OrderState } from '../../common/order';
import { transportWorkflowId } from '../../common/transport';
import { addVehicle, orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { http, startHarness, waitForSaga, type Harness } from '../support/harness';
import { eventually, readEvents } from './support';

/**
 * The generic saga API (docs/api.md, "Every saga type"): `/sagas/{type}/…` generated from the saga definitions for
 * the order saga and the transport order alike, the same operations as `/orders` and `/transport-orders`, and the
 * compensation plan of a running, a stuck and a finished saga.
 */
let h: Harness;
let s: Seeded;
let dateCounter = 0;
const nextDate = () => `2027-04-${String(++dateCounter).padStart(2, '0')}`;

beforeAll(async () => {
  h = await startHarness('apisagas');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 100_000, price: 10, stock: 10_000 });
  const vehicle = await http(h.baseUrl, 'POST', '/transport-vehicles', {
    name: 'Van',
    capacityKg: 1000,
    pricePerService: 50,
  });
  expect(vehicle.status).toBe(201);
});
afterAll(async () => {
  await h?.stop();
});

/** Every collection's document count: a refused request must leave them as they were. */
async function counts(): Promise<Record<string, number>> {
  const names = (await h.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const result: Record<string, number> = {};
  for (const name of names.filter((n) => n !== 'apiKeys')) result[name] = await h.db.collection(name).countDocuments();
  return result;
}

async function newParcel(weightKg = 2): Promise<string> {
  const res = await http(h.baseUrl, 'POST', '/parcels', { weightKg });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

type Plan = {
  status: string;
  compensations: { step: string; compensation: string; stepStatus: string; group: string | null }[];
  waitingOn: { step: string; compensation: string } | null;
  cannotUndo: { step: string; reason: string }[];
  compensated: { step: string; compensation: string }[];
};
const planOf = async (type: string, orderId: string) => {
  const res = await http(h.baseUrl, 'GET', `/sagas/${type}/${orderId}/plan`);
  expect(res.status).toBe(200);
  return res.body as Plan;
};

describe('GET /sagas', () => {
  test('lists every saga type with its version, its steps and their kinds, and where its sagas are', async () => {
    const res = await http(h.baseUrl, 'GET', '/sagas');
    expect(res.status).toBe(200);
    const sagas = res.body.sagas as { name: string; version: number; path: string; steps: unknown[] }[];
    expect(sagas.map((x) => [x.name, x.path])).toEqual([
      ['order', '/sagas/order'],
      ['transport-order', '/sagas/transport-order'],
      ['order-fulfilment', '/sagas/order-fulfilment'],
    ]);
    const order = sagas[0] as unknown as { version: number; steps: { name: string; kind: string }[] };
    expect(order.version).toBe(1);
    expect(order.steps.map((x) => [x.name, x.kind])).toEqual([
      ['priceOrder', 'read'],
      ['reserveCredit', 'compensatable'],
      ['reserveInventory', 'compensatable'],
      ['processPayment', 'compensatable'],
      ['createShipment', 'compensatable'],
      ['reserveVehicle', 'compensatable'],
    ]);
    const transport = sagas[1] as unknown as { steps: { type: string; name: string }[] };
    expect(transport.steps.map((x) => [x.type, x.name])).toEqual([
      ['step', 'createTransportOrder'],
      ['parallel', 'addParcel'],
      ['step', 'chooseVehicle'],
      ['step', 'reserveVehicleResource'],
      ['step', 'assignVehicle'],
      ['wait', 'awaitDecision'],
    ]);
  });
});

describe('/sagas/order', () => {
  test('start with an Idempotency-Key: 202, a retry answers the same, another body 422; the key is that of POST /orders too', async () => {
    const key = unique('key');
    const body = orderBody(s, { deliveryDate: nextDate() });
    const first = await http(h.baseUrl, 'POST', '/sagas/order', body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ orderId: body.orderId, workflowId: orderWorkflowId(body.orderId) });
    expect(first.headers.get('location')).toBe(`/orders/${body.orderId}`);
    const retry = await http(h.baseUrl, 'POST', '/sagas/order', body, { 'Idempotency-Key': key });
    expect([retry.status, retry.body, retry.headers.get('idempotent-replayed')]).toEqual([202, first.body, 'true']);
    // The same operation under its own path: the key's first answer again.
    const own = await http(h.baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': key });
    expect([own.status, own.body, own.headers.get('idempotent-replayed')]).toEqual([202, first.body, 'true']);
    const other = orderBody(s, { deliveryDate: nextDate() });
    expect((await http(h.baseUrl, 'POST', '/sagas/order', other, { 'Idempotency-Key': key })).status).toBe(422);
    // Started once, for good: the same order id without the key is a conflict.
    expect((await http(h.baseUrl, 'POST', '/sagas/order', body)).status).toBe(409);
    await waitForSaga(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
    expect((await http(h.baseUrl, 'GET', `/sagas/order/${body.orderId}`)).body).toMatchObject({
      orderId: body.orderId,
      status: 'COMPLETED',
    });
  });

  test('get, list, domain events and the event stream answer as under /orders', async () => {
    const customer = await seed(h, { creditLimit: 100_000 });
    const body = orderBody(customer, { deliveryDate: nextDate() });
    expect((await http(h.baseUrl, 'POST', '/sagas/order', body)).status).toBe(202);
    const stream = await readEvents(`${h.baseUrl}/sagas/order/${body.orderId}/events`);
    expect(stream.status).toBe(200);
    expect(stream.events[0]?.event).toBe('state');
    expect(stream.events.at(-1)).toEqual({ event: 'end', data: { status: 'COMPLETED' }, id: undefined });
    const sequences = stream.events.filter((e) => e.event === 'domain-event').map((e) => Number(e.id));
    expect(sequences).toEqual(sequences.map((_, i) => i + 1));

    const state = await http(h.baseUrl, 'GET', `/sagas/order/${body.orderId}`);
    expect(state.body).toEqual((await http(h.baseUrl, 'GET', `/orders/${body.orderId}`)).body);
    expect((state.body as OrderState).status).toBe('COMPLETED');
    const events = await http(h.baseUrl, 'GET', `/sagas/order/${body.orderId}/domain-events`);
    expect(events.status).toBe(200);
    expect((events.body as { type: string }[]).map((e) => e.type)).toContain('SagaCompleted');
    expect(events.body).toHaveLength(sequences.length);

    const listed = await eventually(
      () => http(h.baseUrl, 'GET', `/sagas/order?customerId=${customer.customerId}&status=COMPLETED`),
      (r) => r.status === 200 && r.body.totalCount === 1,
    );
    expect((listed.body.orders as { orderId: string }[]).map((o) => o.orderId)).toEqual([body.orderId]);
    expect(listed.body).toEqual(
      (await http(h.baseUrl, 'GET', `/orders?customerId=${customer.customerId}&status=COMPLETED`)).body,
    );
    // A transport order's listing does not show orders.
    const transports = await http(h.baseUrl, 'GET', `/sagas/transport-order?customerId=${customer.customerId}`);
    expect(transports.body).toMatchObject({ orders: [], totalCount: 0 });
  });

  test('held at payment: the plan undoes payment, inventory and credit in reverse; cancelled, it has nothing left to run', async () => {
    const body = orderBody(s, { deliveryDate: nextDate() });
    const workflowId = orderWorkflowId(body.orderId);
    const gate = h.hooks.hold(workflowId, 'processPayment', { maxHoldMs: 6_000 });
    expect((await http(h.baseUrl, 'POST', '/sagas/order', body)).status).toBe(202);
    await gate.entered;
    const plan = await planOf('order', body.orderId);
    expect(plan).toMatchObject({ status: 'RUNNING', waitingOn: null, compensated: [] });
    expect(plan.compensations.map((c) => [c.step, c.compensation, c.stepStatus])).toEqual([
      ['processPayment', 'refundPayment', 'RUNNING'],
      ['reserveInventory', 'releaseInventory', 'COMPLETED'],
      ['reserveCredit', 'releaseCredit', 'COMPLETED'],
    ]);
    expect(plan.cannotUndo).toEqual([{ step: 'priceOrder', kind: 'read', stepStatus: 'COMPLETED', reason: 'read' }]);
    // The same plan under the type's own path.
    expect((await http(h.baseUrl, 'GET', `/orders/${body.orderId}/plan`)).body).toEqual(plan);

    const cancelled = await http(h.baseUrl, 'POST', `/sagas/order/${body.orderId}/cancel`, { reason: 'test' });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({ orderId: body.orderId, cancelRequested: true });
    h.hooks.release(workflowId);
    expect((await waitForSaga(h.client.workflow.getHandle(workflowId))).status).toBe('COMPENSATED');
    const after = await planOf('order', body.orderId);
    expect(after).toMatchObject({ status: 'COMPENSATED', compensations: [], waitingOn: null });
    // The plan said what would run then; the saga may have gone on a step before the cancel reached it (the held
    // payment let go, the next local step runs in the same workflow task), so the plan is the end of what ran.
    const planned = plan.compensations.map(({ step, compensation }) => ({ step, compensation }));
    expect(after.compensated.slice(-planned.length)).toEqual(planned);
    expect((await http(h.baseUrl, 'POST', `/sagas/order/${body.orderId}/cancel`)).status).toBe(409);
  });

  test('FAILED waiting for an operator: the plan starts at the failed compensation; retried, the saga compensates', async () => {
    const body = orderBody(s, { token: 'tok_declined', deliveryDate: nextDate() });
    const workflowId = orderWorkflowId(body.orderId);
    const rule = h.hooks.add({ workflowId, activity: 'releaseCredit', fatal: 'always' });
    expect((await http(h.baseUrl, 'POST', '/sagas/order', body)).status).toBe(202);
    const handle = h.client.workflow.getHandle(workflowId);
    expect((await waitForSaga(handle)).status).toBe('FAILED');
    const plan = await planOf('order', body.orderId);
    expect(plan.status).toBe('FAILED');
    expect(plan.compensations.map((c) => [c.step, c.stepStatus])).toEqual([['reserveCredit', 'COMPENSATION_FAILED']]);
    expect(plan.waitingOn).toEqual({ step: 'reserveCredit', compensation: 'releaseCredit' });
    expect(plan.compensated).toEqual([
      { step: 'processPayment', compensation: 'refundPayment' },
      { step: 'reserveInventory', compensation: 'releaseInventory' },
    ]);

    h.hooks.remove(rule);
    const retry = await http(h.baseUrl, 'POST', `/sagas/order/${body.orderId}/retry-compensation`, { reason: 'fixed' });
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({
      orderId: body.orderId,
      retryRequested: true,
      compensation: 'releaseCredit',
      step: 'reserveCredit',
    });
    const done = await eventually(
      () => planOf('order', body.orderId),
      (p) => p.status === 'COMPENSATED',
    );
    expect(done).toMatchObject({ compensations: [], waitingOn: null });
    expect(done.compensated.map((c) => c.step)).toEqual(['processPayment', 'reserveInventory', 'reserveCredit']);
    expect((await http(h.baseUrl, 'POST', `/sagas/order/${body.orderId}/retry-compensation`)).status).toBe(409);
  });
});

describe('/sagas/transport-order', () => {
  test('start, read, list; waiting for a decision the plan undoes every parcel of the group; cancel compensates it', async () => {
    const customer = await seed(h, { creditLimit: 100_000 });
    const parcelIds = [await newParcel(), await newParcel()];
    const body = { orderId: unique('tr'), customerId: customer.customerId, parcelIds };
    const key = unique('key');
    const started = await http(h.baseUrl, 'POST', '/sagas/transport-order', body, { 'Idempotency-Key': key });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/transport-orders/${body.orderId}`);
    const replayed = await http(h.baseUrl, 'POST', '/transport-orders', body, { 'Idempotency-Key': key });
    expect([replayed.status, replayed.body]).toEqual([202, started.body]);

    const waiting = await eventually(
      () => http(h.baseUrl, 'GET', `/sagas/transport-order/${body.orderId}`),
      (r) => r.status === 200 && (r.body.pendingDecision !== null || r.body.status !== 'RUNNING'),
    );
    expect(waiting.body).toMatchObject({ status: 'RUNNING', orderId: body.orderId, parcelIds });
    const plan = await planOf('transport-order', body.orderId);
    expect(plan.compensations.map((c) => [c.step, c.group])).toEqual([
      ['assignVehicle', null],
      ['reserveVehicleResource', null],
      [`addParcel:${parcelIds[1]}`, 'addParcel'],
      [`addParcel:${parcelIds[0]}`, 'addParcel'],
      ['createTransportOrder', null],
    ]);
    expect(plan.cannotUndo.map((c) => [c.step, c.reason])).toEqual([['chooseVehicle', 'read']]);
    expect((await http(h.baseUrl, 'GET', `/transport-orders/${body.orderId}/plan`)).body).toEqual(plan);

    const listed = await eventually(
      () => http(h.baseUrl, 'GET', `/sagas/transport-order?customerId=${customer.customerId}`),
      (r) => r.status === 200 && r.body.totalCount === 1,
    );
    expect(listed.body.orders[0]).toMatchObject({ orderId: body.orderId, status: 'RUNNING' });

    const cancelled = await http(h.baseUrl, 'POST', `/sagas/transport-order/${body.orderId}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.headers.get('location')).toBe(`/transport-orders/${body.orderId}`);
    const final = await waitForSaga(h.client.workflow.getHandle(transportWorkflowId(body.orderId)));
    expect(final).toMatchObject({ status: 'COMPENSATED', cancelled: true });
    const after = await planOf('transport-order', body.orderId);
    expect(after).toMatchObject({ status: 'COMPENSATED', compensations: [] });
    expect(after.compensated.map((c) => c.step)).toEqual(plan.compensations.map((c) => c.step));

    const stream = await readEvents(`${h.baseUrl}/sagas/transport-order/${body.orderId}/events`);
    expect(stream.events.at(-1)).toEqual({ event: 'end', data: { status: 'COMPENSATED' }, id: undefined });
    const events = await http(h.baseUrl, 'GET', `/sagas/transport-order/${body.orderId}/domain-events`);
    expect((events.body as { type: string }[]).at(-1)?.type).toBe('SagaCompensated');
    expect((await http(h.baseUrl, 'POST', `/sagas/transport-order/${body.orderId}/retry-compensation`)).status).toBe(
      409,
    );
  });
});

describe('/sagas/order-fulfilment', () => {
  // A saga built from a definition only (docs/adding-a-saga.md): no route, schema or handler of its own.
  test('a saga with no routes of its own: started, read, listed, planned and cancelled through /sagas/{type}', async () => {
    const customer = await seed(h, { creditLimit: 100_000 });
    const body = orderBody(customer);
    const started = await http(h.baseUrl, 'POST', '/sagas/order-fulfilment', body);
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/sagas/order-fulfilment/${body.orderId}`);
    const done = await eventually(
      () => http(h.baseUrl, 'GET', `/sagas/order-fulfilment/${body.orderId}`),
      (r) => r.status === 200 && (r.body as { status: string }).status === 'COMPLETED',
    );
    expect(done.body).toMatchObject({ orderId: body.orderId, cancellation: null });
    expect((await planOf('order-fulfilment', body.orderId)).compensations).toEqual([]);
    const listed = await eventually(
      () => http(h.baseUrl, 'GET', `/sagas/order-fulfilment?customerId=${customer.customerId}`),
      (r) => r.status === 200 && r.body.totalCount === 1,
    );
    expect((listed.body.orders as { orderId: string }[]).map((o) => o.orderId)).toEqual([body.orderId]);
    // An order saga's listing does not show it.
    expect((await http(h.baseUrl, 'GET', `/sagas/order?customerId=${customer.customerId}`)).body).toMatchObject({
      totalCount: 0,
    });
    // Its own schema: a body without items is refused, naming the field.
    const refused = await http(h.baseUrl, 'POST', '/sagas/order-fulfilment', {
      ...body,
      orderId: unique('f'),
      items: [],
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('items');
    // A finished saga cannot be cancelled: 409, nothing changes.
    expect((await http(h.baseUrl, 'POST', `/sagas/order-fulfilment/${body.orderId}/cancel`)).status).toBe(409);
  });
});

describe('refusals', () => {
  test.each([
    ['GET', '/sagas/invoice'],
    ['POST', '/sagas/invoice'],
    ['GET', '/sagas/invoice/o1'],
    ['GET', '/sagas/invoice/o1/plan'],
    ['POST', '/sagas/invoice/o1/cancel'],
  ])('an unknown saga type answers 404 as problem+json naming the types: %s %s', async (method, path) => {
    const res = await http(h.baseUrl, method, path, method === 'POST' ? {} : undefined);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toBe(
      'No saga type invoice: the types are order, transport-order, order-fulfilment (GET /sagas)',
    );
  });

  test('an unknown saga of a known type answers 404, for its plan too', async () => {
    for (const path of [`/sagas/order/${unique('none')}`, `/sagas/transport-order/${unique('none')}/plan`]) {
      const res = await http(h.baseUrl, 'GET', path);
      expect([path, res.status, res.body.type]).toEqual([path, 404, 'urn:problem:not-found']);
    }
  });

  test("bad input answers 400 naming the field, by each type's own schema, and writes nothing", async () => {
    const before = await counts();
    const order = { ...orderBody(s), items: [] as unknown[] };
    const badOrder = await http(h.baseUrl, 'POST', '/sagas/order', order, { 'Idempotency-Key': unique('key') });
    expect(badOrder.status).toBe(400);
    expect((badOrder.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['body.items']);
    const transport = { orderId: unique('tr'), customerId: s.customerId, parcelIds: [] };
    const badTransport = await http(h.baseUrl, 'POST', '/sagas/transport-order', transport);
    expect(badTransport.status).toBe(400);
    expect((badTransport.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['body.parcelIds']);
    const badId = await http(h.baseUrl, 'GET', '/sagas/order/%24gt/plan');
    expect(badId.status).toBe(400);
    expect((badId.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['params.orderId']);
    expect(await counts()).toEqual(before);
    await expect(h.client.workflow.getHandle(orderWorkflowId(order.orderId)).describe()).rejects.toThrow();
    await expect(h.client.workflow.getHandle(transportWorkflowId(transport.orderId)).describe()).rejects.toThrow();
  });
});

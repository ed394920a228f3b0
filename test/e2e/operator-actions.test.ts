/**
 * Audited operator actions, end to end on the real servers: cancel, retry-compensation, approve and reject record
 * who did them (the API key's name and kind), when (workflow time) and why (the optional `reason` of the body) in
 * the saga's `operatorActions`, shown by `GET /orders/{id}` and `GET /transport-orders/{id}`; the signal or update
 * that carried the action holds the same actor in the saga's history (decoded with the run's key ring).
 */
import type { AddressInfo } from 'node:net';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { createApp } from '../../api/app';
import { getStateQuery } from '../../common/definitions';
import { orderWorkflowId, type OrderState } from '../../common/order';
import type { Role } from '../../common/roles';
import { SagaStatus } from '../../common/saga-state';
import { transportWorkflowId, type TransportOrderState } from '../../common/transport';
import { pollUntil } from '../../scripts/lib/wait';
import { apiKeys, createApiKey } from '../../store/api-keys';
import { addVehicle, orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { decodePayload, http, startHarness, waitForSaga, type Harness } from '../support/harness';

let h: Harness;
let s: Seeded;
let dates = 0;
const nextDate = () => `2027-08-${String(++dates).padStart(2, '0')}`;

beforeAll(async () => {
  h = await startHarness('operatoractions');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 100_000, price: 10, stock: 10_000 });
});
afterAll(async () => h?.stop());

/** A stored API key with that name (operator and reader: it acts and reads the result). */
async function keyNamed(name: string, roles: Role[] = ['operator', 'reader']) {
  const { key } = await createApiKey(apiKeys(h.db), { name, roles });
  return { authorization: `Bearer ${key}` };
}

type Event = temporal.api.history.v1.IHistoryEvent;
const history = async (handle: WorkflowHandle): Promise<Event[]> => (await handle.fetchHistory()).events ?? [];

/** The decoded first argument of every signal of that name, in history order. */
async function signalArgs(handle: WorkflowHandle, name: string): Promise<unknown[]> {
  const args: unknown[] = [];
  for (const e of await history(handle)) {
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName !== name) continue;
    const payload = signal.input?.payloads?.[0];
    args.push(payload ? await decodePayload(payload) : undefined);
  }
  return args;
}

const action = (name: string, by: string, reason: string | null, byKind = 'api-key') => ({
  action: name,
  by,
  byKind,
  reason,
  at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
});

describe('order sagas', () => {
  test('an operator key cancels with a reason: GET /orders/{id} shows cancel by that key, its reason and a time; the history holds the actor', async () => {
    const aliceName = unique('alice');
    const alice = await keyNamed(aliceName);
    const body = orderBody(s, { deliveryDate: nextDate() });
    const workflowId = orderWorkflowId(body.orderId);
    h.hooks.hold(workflowId, 'processPayment', { maxHoldMs: 6_000 });
    expect((await http(h.baseUrl, 'POST', '/orders', body)).status).toBe(202);
    const handle = h.client.workflow.getHandle(workflowId);
    await pollUntil(
      'the saga reaches processPayment',
      () => handle.query(getStateQuery) as Promise<OrderState>,
      (st) => st.steps.some((x) => x.name === 'processPayment'),
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    // A bad reason is refused, naming the field, and nothing is done.
    const url = `/orders/${body.orderId}/cancel`;
    for (const bad of [{ reason: 'x'.repeat(501) }, { reason: 7 }, { reason: '   ' }]) {
      const refused = await http(h.baseUrl, 'POST', url, bad, alice);
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body.errors)).toContain('reason');
    }
    expect((await history(handle)).some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(false);
    expect(await signalArgs(handle, 'cancelRequested')).toEqual([]);

    const before = Date.now();
    const cancel = await http(h.baseUrl, 'POST', url, { reason: ' customer called ' }, alice);
    expect(cancel.status).toBe(202);
    h.hooks.release(workflowId);
    await waitForSaga(handle);
    const read = await http(h.baseUrl, 'GET', `/orders/${body.orderId}`, undefined, alice);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ status: 'COMPENSATED', cancelled: true });
    expect(read.body.operatorActions).toEqual([action('cancel', aliceName, 'customer called')]);
    const at = Date.parse((read.body as OrderState).operatorActions[0]!.at);
    expect(at).toBeGreaterThanOrEqual(before - 2_000);
    expect(at).toBeLessThanOrEqual(Date.now());

    // In the history: the cancelRequested signal with the actor, then the cancel request.
    expect(await signalArgs(handle, 'cancelRequested')).toEqual([
      { by: aliceName, byKind: 'api-key', reason: 'customer called' },
    ]);
    const events = await history(handle);
    const signalled = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
    expect(events.findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBeGreaterThan(signalled);

    // Cancelling the finished saga: 409, and nothing more is recorded.
    expect((await http(h.baseUrl, 'POST', url, { reason: 'again' }, alice)).status).toBe(409);
    expect((await http(h.baseUrl, 'GET', `/orders/${body.orderId}`)).body.operatorActions).toHaveLength(1);
  });

  test('retry-compensation by one key with a reason, then by another without: each recorded with its actor', async () => {
    const bob = await keyNamed('bob-ops');
    const carol = await keyNamed('carol-ops');
    const body = orderBody(s, { token: 'tok_declined', deliveryDate: nextDate() });
    const workflowId = orderWorkflowId(body.orderId);
    const fault = h.hooks.add({ workflowId, activity: 'releaseCredit', fatal: 'always' });
    expect((await http(h.baseUrl, 'POST', '/orders', body)).status).toBe(202);
    const handle = h.client.workflow.getHandle(workflowId);
    expect((await waitForSaga(handle)).status).toBe(SagaStatus.FAILED);

    const url = `/orders/${body.orderId}/retry-compensation`;
    expect((await http(h.baseUrl, 'POST', url, { reason: 'x'.repeat(501) }, bob)).status).toBe(400);
    // Bob retries before the cause is fixed: it fails again, and the saga waits again.
    expect((await http(h.baseUrl, 'POST', url, { reason: 'retry after the deploy' }, bob)).status).toBe(202);
    const failedAgain = await pollUntil(
      'the retry is recorded and the saga is FAILED again',
      () => handle.query(getStateQuery) as Promise<OrderState>,
      (st) => st.operatorActions.length === 1 && st.status === SagaStatus.FAILED,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(failedAgain.operatorActions).toEqual([action('retry-compensation', 'bob-ops', 'retry after the deploy')]);

    h.hooks.remove(fault);
    expect((await http(h.baseUrl, 'POST', url, undefined, carol)).status).toBe(202);
    await waitForSaga(handle, { statuses: [SagaStatus.COMPENSATED] });
    const read = await http(h.baseUrl, 'GET', `/orders/${body.orderId}`);
    expect(read.body.operatorActions).toEqual([
      action('retry-compensation', 'bob-ops', 'retry after the deploy'),
      action('retry-compensation', 'carol-ops', null),
    ]);
    expect(await signalArgs(handle, 'retryCompensation')).toEqual([
      { by: 'bob-ops', byKind: 'api-key', reason: 'retry after the deploy' },
      { by: 'carol-ops', byKind: 'api-key' },
    ]);
  });

  test('skip-compensation needs an operator and a reason, answers 409 unless FAILED, and is recorded with step, actor and reason', async () => {
    const erin = await keyNamed('erin-ops');
    const reader = await keyNamed('rita-reader', ['reader']);
    const body = orderBody(s, { token: 'tok_declined', deliveryDate: nextDate() });
    const workflowId = orderWorkflowId(body.orderId);
    h.hooks.add({ workflowId, activity: 'releaseInventory', fatal: 'always' });
    expect((await http(h.baseUrl, 'POST', '/orders', body)).status).toBe(202);
    const handle = h.client.workflow.getHandle(workflowId);
    expect((await waitForSaga(handle)).status).toBe(SagaStatus.FAILED);

    const url = `/orders/${body.orderId}/skip-compensation`;
    const missing = await http(h.baseUrl, 'POST', url, {}, erin);
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body.errors)).toContain('reason');
    expect((await http(h.baseUrl, 'POST', url, { reason: '   ' }, erin)).status).toBe(400);
    expect((await http(h.baseUrl, 'POST', url, { reason: 'x'.repeat(501) }, erin)).status).toBe(400);
    expect((await http(h.baseUrl, 'POST', url, { reason: 'by hand', step: 'nope' }, erin)).status).toBe(409);
    expect((await http(h.baseUrl, 'POST', url, { reason: 'by hand' }, reader)).status).toBe(403);
    expect((await handle.query(getStateQuery)).operatorActions).toEqual([]);

    const reason = 'stock put back on the shelf by hand';
    const accepted = await http(h.baseUrl, 'POST', url, { reason }, erin);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({
      orderId: body.orderId,
      skipRequested: true,
      skipped: [{ step: 'reserveInventory', compensation: 'releaseInventory' }],
    });
    await waitForSaga(handle, { statuses: [SagaStatus.COMPENSATED] });
    const read = await http(h.baseUrl, 'GET', `/orders/${body.orderId}`);
    expect(read.body.operatorActions).toEqual([
      {
        ...action('skip-compensation', 'erin-ops', reason),
        step: 'reserveInventory',
        compensation: 'releaseInventory',
      },
    ]);
    const steps = read.body.steps as { name: string; status: string }[];
    expect(steps.find((st) => st.name === 'reserveInventory')?.status).toBe('COMPENSATION_SKIPPED');
    const events = await http(h.baseUrl, 'GET', `/orders/${body.orderId}/domain-events`);
    expect((events.body as { type: string }[]).map((e) => e.type)).toContain('CompensationSkipped');
    expect(await signalArgs(handle, 'skipCompensation')).toEqual([{ by: 'erin-ops', byKind: 'api-key', reason }]);
    // Nothing left to skip.
    expect((await http(h.baseUrl, 'POST', url, { reason: 'again' }, erin)).status).toBe(409);
  });

  test('with API_AUTH=off the actor is anonymous', async () => {
    const server = createApp({
      temporal: h.client,
      db: h.db,
      taskQueue: h.taskQueue,
      bodyLimit: 100_000,
      auth: 'off',
    }).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const body = orderBody(s, { deliveryDate: nextDate() });
      const workflowId = orderWorkflowId(body.orderId);
      h.hooks.hold(workflowId, 'processPayment', { maxHoldMs: 6_000 });
      expect((await http(baseUrl, 'POST', '/orders', body, { authorization: '' })).status).toBe(202);
      const handle = h.client.workflow.getHandle(workflowId);
      await pollUntil(
        'the saga reaches processPayment',
        () => handle.query(getStateQuery) as Promise<OrderState>,
        (st) => st.steps.some((x) => x.name === 'processPayment'),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const cancel = await http(baseUrl, 'POST', `/orders/${body.orderId}/cancel`, undefined, { authorization: '' });
      expect(cancel.status).toBe(202);
      h.hooks.release(workflowId);
      await waitForSaga(handle);
      const read = await http(baseUrl, 'GET', `/orders/${body.orderId}`, undefined, { authorization: '' });
      expect(read.body.operatorActions).toEqual([action('cancel', 'anonymous', null, 'anonymous')]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('transport orders', () => {
  beforeAll(async () => {
    const res = await http(h.baseUrl, 'POST', '/transport-vehicles', {
      id: unique('truck'),
      name: 'Truck',
      capacityKg: 1000,
      pricePerService: 150,
    });
    expect(res.status).toBe(201);
  });

  /** A transport order waiting for its decision. */
  async function pendingOrder(): Promise<{ orderId: string; handle: WorkflowHandle }> {
    const parcel = await http(h.baseUrl, 'POST', '/parcels', { weightKg: 5 });
    const orderId = unique('tr');
    const started = await http(h.baseUrl, 'POST', '/transport-orders', {
      orderId,
      customerId: s.customerId,
      parcelIds: [parcel.body.id as string],
    });
    expect(started.status).toBe(202);
    const handle = h.client.workflow.getHandle(transportWorkflowId(orderId));
    await pollUntil(
      `${orderId} waits for a decision`,
      () => handle.query(getStateQuery) as Promise<TransportOrderState>,
      (st) => Boolean(st.pendingDecision) || st.status !== SagaStatus.RUNNING,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    return { orderId, handle };
  }

  /** The decoded argument of every accepted `decide` update, in history order. */
  async function decideArgs(handle: WorkflowHandle): Promise<unknown[]> {
    const args: unknown[] = [];
    for (const e of await history(handle)) {
      const payload = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads?.[0];
      if (payload) args.push(await decodePayload(payload));
    }
    return args;
  }

  test('approve by one key and reject by another: each order shows its own actor and reason, in state and history', async () => {
    const dave = await keyNamed('dave-ops');
    const erin = await keyNamed('erin-ops');
    const approved = await pendingOrder();
    const rejected = await pendingOrder();

    const approveUrl = `/transport-orders/${approved.orderId}/approve`;
    expect((await http(h.baseUrl, 'POST', approveUrl, { reason: 42 }, dave)).status).toBe(400);
    expect((await http(h.baseUrl, 'POST', approveUrl, { reason: 'price agreed' }, dave)).status).toBe(202);
    const rejectUrl = `/transport-orders/${rejected.orderId}/reject`;
    expect((await http(h.baseUrl, 'POST', rejectUrl, { reason: 'too expensive' }, erin)).status).toBe(202);
    await Promise.all([waitForSaga(approved.handle), waitForSaga(rejected.handle)]);

    const a = await http(h.baseUrl, 'GET', `/transport-orders/${approved.orderId}`, undefined, dave);
    expect(a.body).toMatchObject({ status: 'COMPLETED', decision: 'APPROVED' });
    expect(a.body.operatorActions).toEqual([action('approve', 'dave-ops', 'price agreed')]);
    const r = await http(h.baseUrl, 'GET', `/transport-orders/${rejected.orderId}`, undefined, erin);
    expect(r.body).toMatchObject({ status: 'COMPENSATED', decision: 'REJECTED', decisionReason: 'too expensive' });
    expect(r.body.operatorActions).toEqual([action('reject', 'erin-ops', 'too expensive')]);

    expect(await decideArgs(approved.handle)).toEqual([
      { decision: 'APPROVED', by: 'dave-ops', byKind: 'api-key', reason: 'price agreed' },
    ]);
    expect(await decideArgs(rejected.handle)).toEqual([
      { decision: 'REJECTED', by: 'erin-ops', byKind: 'api-key', reason: 'too expensive' },
    ]);
  });

  test('skip-compensation of a transport order waiting for its decision answers 409; without a reason 400', async () => {
    const { orderId, handle } = await pendingOrder();
    const ops = await keyNamed('ted-ops');
    const url = `/transport-orders/${orderId}/skip-compensation`;
    expect((await http(h.baseUrl, 'POST', url, undefined, ops)).status).toBe(400);
    expect((await http(h.baseUrl, 'POST', url, { reason: 'done by hand' }, ops)).status).toBe(409);
    expect(((await handle.query(getStateQuery)) as TransportOrderState).operatorActions).toEqual([]);
    await handle.cancel();
  });

  test('cancel of a transport order waiting for its decision is recorded with the key and reason', async () => {
    const frank = await keyNamed('frank-ops');
    const { orderId, handle } = await pendingOrder();
    const cancel = await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/cancel`, { reason: 'duplicate' }, frank);
    expect(cancel.status).toBe(202);
    await waitForSaga(handle);
    const read = await http(h.baseUrl, 'GET', `/transport-orders/${orderId}`);
    expect(read.body).toMatchObject({ status: 'COMPENSATED', cancelled: true });
    expect(read.body.operatorActions).toEqual([action('cancel', 'frank-ops', 'duplicate')]);
  });
});

import { fieldKey } from '../../store/keys';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus, StepStatus } from '../../common/saga-state';
import { parseFaultSpec } from '../../workers/interceptors/fault-injection';
import { addVehicle, orderBody, seed, snapshot, unique, type Seeded } from '../support/fixtures';
import { http, startHarness, waitForSaga, type Harness } from '../support/harness';
import { startTestWorker, type TestWorker } from '../support/lane';
import { startOrderSaga } from './support';

/**
 * Activities that fail, against the real servers: through the SAGA_FAULTS hook itself (a worker of its own with the
 * plan the variable gives, on its own task queue), and through the tests' kit (`h.hooks` on the harness's worker)
 * where a test needs one saga broken to show what the saga and the operator do about it (docs/faults.md).
 */
let h: Harness;
let worker: TestWorker | undefined;
let s: Seeded;
const date = '2027-06-01';

beforeAll(async () => {
  h = await startHarness('faults');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 1000, price: 10, stock: 100 });
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

/** A worker in this process with the fault plan `SAGA_FAULTS=spec` gives, on a task queue of its own. */
async function workerWithSagaFaults(spec: string, taskQueue: string): Promise<TestWorker> {
  return startTestWorker({ db: h.db, client: h.client }, { taskQueue, faults: parseFaultSpec(spec) });
}
afterAll(async () => h?.stop());

const stepOf = (state: OrderState, name: string) => state.steps.find((x) => x.name === name)!;
const handleOf = (orderId: string) => h.client.workflow.getHandle(orderWorkflowId(orderId));

/** Runs of the order's workflow id in Temporal visibility (eventually consistent: waits for the first). */
async function runsOf(orderId: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    let runs = 0;
    for await (const _ of h.client.workflow.list({ query: `WorkflowId = '${orderWorkflowId(orderId)}'` })) runs++;
    if (runs > 0 || Date.now() > deadline) return runs;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function start(body: ReturnType<typeof orderBody>): Promise<void> {
  const res = await http(h.baseUrl, 'POST', '/orders', body);
  expect(res.status).toBe(202);
}

test('SAGA_FAULTS: steps and compensations failing transiently N times: N+1 attempts in the state, each effect applied once', async () => {
  const taskQueue = `${h.taskQueue}-saga-faults`;
  // processPayment:lose=1: the charge lands, its result is lost: the retry must find it, not charge again
  worker = await workerWithSagaFaults('reserveInventory:fail=2,processPayment:lose=1,releaseCredit:fail=2', taskQueue);
  const before = await snapshot(h, s, date);
  const ok = orderBody(s, { quantity: 2, deliveryDate: date });
  const declined = orderBody(s, { quantity: 3, token: 'tok_declined', deliveryDate: date });
  const [okRun, declinedRun] = [await startOrderSaga(h, ok, taskQueue), await startOrderSaga(h, declined, taskQueue)];
  const [completed, compensated] = await Promise.all([
    waitForSaga<OrderState>(okRun),
    waitForSaga<OrderState>(declinedRun),
  ]);

  expect(completed.status).toBe(SagaStatus.COMPLETED);
  expect(stepOf(completed, 'reserveInventory')).toMatchObject({ status: StepStatus.COMPLETED, attempts: 3 });
  expect(stepOf(completed, 'processPayment')).toMatchObject({ status: StepStatus.COMPLETED, attempts: 2 });
  expect(stepOf(completed, 'reserveCredit').attempts).toBe(1);

  expect(compensated.status).toBe(SagaStatus.COMPENSATED);
  expect(compensated.failure).toMatchObject({ step: 'processPayment', type: 'PaymentDeclined' });
  expect(stepOf(compensated, 'reserveCredit')).toMatchObject({
    status: StepStatus.COMPENSATED,
    compensation: 'releaseCredit',
    compensationAttempts: 3,
  });
  expect(stepOf(compensated, 'reserveInventory')).toMatchObject({ attempts: 3, compensationAttempts: 1 });

  // Exactly the completed order's effects, once each.
  const after = await snapshot(h, s, date, ok.orderId);
  expect(after.creditAvailableCents).toBe(before.creditAvailableCents! - 2000);
  expect(after.stock).toBe(before.stock! - 2);
  expect(after.chargedCents).toBe(2000);
  expect(await h.cols.payments.countDocuments({ orderId: ok.orderId })).toBe(1);
  expect(after.liveShipments).toBe(1);
  expect(after.vehicleLoad).toBe(before.vehicleLoad + 1);
});

test('a compensation that keeps failing: FAILED with the step named and data as at the failure; fixed and retried by an operator via the API: COMPENSATED', async () => {
  const before = await snapshot(h, s, date);
  const body = orderBody(s, { quantity: 4, token: 'tok_declined', deliveryDate: date });
  // `fatal`: the compensation fails for good at once, as it would once its retries ran out (docs/faults.md).
  const fault = h.hooks.add({ workflowId: orderWorkflowId(body.orderId), activity: 'releaseCredit', fatal: 'always' });
  await start(body);
  const failed = await waitForSaga<OrderState>(handleOf(body.orderId));

  expect(failed.status).toBe(SagaStatus.FAILED);
  expect(failed.compensationFailure).toMatchObject({
    step: 'reserveCredit',
    compensation: 'releaseCredit',
    type: 'InjectedFault',
  });
  expect(stepOf(failed, 'reserveCredit').status).toBe(StepStatus.COMPENSATION_FAILED);
  expect(stepOf(failed, 'reserveInventory').status).toBe(StepStatus.COMPENSATED);
  // As at the failure: the stock is back, the credit is still held.
  const atFailure = await snapshot(h, s, date);
  expect(atFailure.stock).toBe(before.stock);
  expect(atFailure.creditAvailableCents).toBe(before.creditAvailableCents! - 4000);
  const customer = await h.cols.customers.findOne({ _id: s.customerId });
  expect(Object.keys(customer!.creditHolds)).toContain(fieldKey(`${orderWorkflowId(body.orderId)}:reserveCredit`));

  // Only a FAILED saga can be retried; an unknown one is 404; a bad id 400.
  const done = orderBody(s, { deliveryDate: date });
  await start(done);
  await waitForSaga(handleOf(done.orderId));
  expect((await http(h.baseUrl, 'POST', `/orders/${done.orderId}/retry-compensation`)).status).toBe(409);
  expect((await http(h.baseUrl, 'POST', `/orders/${unique('none')}/retry-compensation`)).status).toBe(404);
  expect((await http(h.baseUrl, 'POST', '/orders/%24x/retry-compensation')).status).toBe(400);

  // The operator fixes the cause (here: the fault taken away) and retries.
  h.hooks.remove(fault);
  const retried = await http(h.baseUrl, 'POST', `/orders/${body.orderId}/retry-compensation`);
  expect(retried.status).toBe(202);
  expect(retried.body).toEqual({
    orderId: body.orderId,
    retryRequested: true,
    compensation: 'releaseCredit',
    step: 'reserveCredit',
  });
  const final = await waitForSaga<OrderState>(handleOf(body.orderId), { statuses: [SagaStatus.COMPENSATED] });
  expect(final.compensationFailure).toBeNull();
  expect(stepOf(final, 'reserveCredit')).toMatchObject({ status: StepStatus.COMPENSATED, compensationAttempts: 1 });
  const restored = await snapshot(h, s, date);
  expect(restored.creditAvailableCents).toBe(before.creditAvailableCents! - 1000 * 2); // only `done` remains
  expect(restored.stock).toBe(before.stock! - 2);
  // Retrying a saga that is no longer FAILED changes nothing.
  expect((await http(h.baseUrl, 'POST', `/orders/${body.orderId}/retry-compensation`)).status).toBe(409);
});

test('the same start request twice at once: exactly one saga runs, its effects applied once', async () => {
  const before = await snapshot(h, s, date);

  // Same orderId
  const body = orderBody(s, { quantity: 1, deliveryDate: date });
  const both = await Promise.all([1, 2].map(() => http(h.baseUrl, 'POST', '/orders', body)));
  expect(both.map((r) => r.status).sort()).toEqual([202, 409]);

  // Same Idempotency-Key, no orderId: both answered with the one saga the key names
  const { orderId: _omit, ...keyless } = orderBody(s, { quantity: 1, deliveryDate: date });
  const key = unique('key');
  const keyed = await Promise.all(
    [1, 2].map(() => http(h.baseUrl, 'POST', '/orders', keyless, { 'Idempotency-Key': key })),
  );
  expect(keyed.map((r) => r.status)).toEqual([202, 202]);
  const keyedOrderId = (keyed[0]!.body as { orderId: string }).orderId;
  expect((keyed[1]!.body as { orderId: string }).orderId).toBe(keyedOrderId);

  for (const orderId of [body.orderId, keyedOrderId]) {
    expect((await waitForSaga(handleOf(orderId))).status).toBe(SagaStatus.COMPLETED);
    expect(await runsOf(orderId)).toBe(1);
    expect(await h.cols.payments.countDocuments({ orderId, status: 'CHARGED' })).toBe(1);
  }
  const after = await snapshot(h, s, date);
  expect(after.creditAvailableCents).toBe(before.creditAvailableCents! - 2 * 1000);
  expect(after.stock).toBe(before.stock! - 2);
});

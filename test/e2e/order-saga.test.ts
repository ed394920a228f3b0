import { getStateQuery } from '../../common/definitions';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { addVehicle, orderBody, seed, snapshot, unique } from '../support/fixtures';
import { executedActivities, http, startHarness, waitForSaga, type Harness } from '../support/harness';
import { sagaResult } from '../../common/saga-result';

const steps = ['reserveCredit', 'reserveInventory', 'processPayment', 'createShipment', 'reserveVehicle'];
/** Steps that stay regular activities under patched('local-participant-calls') (STEP_CALLS in the saga). */
const regularSteps = ['processPayment'];
const compensations: Record<string, string> = {
  reserveCredit: 'releaseCredit',
  reserveInventory: 'releaseInventory',
  processPayment: 'refundPayment',
  createShipment: 'cancelShipment',
  reserveVehicle: 'releaseVehicle',
};

/**
 * The participant calls among the activities the workflow ran: without `appendDomainEvents`, the local activity
 * that stores the saga's domain events after each transition (docs/events.md). It is bookkeeping, not a call to a
 * participant; these tests are about which participants were called, in which order, and how (local or regular).
 * test/e2e/domain-events.test.ts covers the appends themselves. Nor `chooseCarrier`, the local activity that records
 * the saga's carrier at its start (here the in-process one; test/e2e/broker-carrier.test.ts covers the broker one),
 * nor `readSagaConfig`, which reads its stored configuration then (test/e2e/saga-config.test.ts).
 */
async function participantCalls(orderId: string) {
  const executed = await executedActivities(h.client.workflow.getHandle(orderWorkflowId(orderId)));
  // Domain events and the choices made at the start (the carrier, the stored configuration) are not participant calls.
  const notCalls = ['appendDomainEvents', 'chooseCarrier', 'readSagaConfig'];
  return executed.filter((a) => !notCalls.includes(a.name));
}

let h: Harness;
let dateCounter = 0;
/** Each test books its own delivery date, so vehicle capacity never leaks between tests. */
const nextDate = () => `2027-02-${String(++dateCounter).padStart(2, '0')}`;

beforeAll(async () => {
  h = await startHarness('order');
  await addVehicle(h, 1);
});
afterAll(async () => h?.stop());

async function runOrder(body: ReturnType<typeof orderBody>): Promise<OrderState> {
  const started = await http(h.baseUrl, 'POST', '/orders', body);
  expect(started.status).toBe(202);
  return waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(body.orderId)));
}

describe('the order saga, end to end on the real servers', () => {
  test('when every step succeeds, the saga completes and each participant reflects exactly one order', async () => {
    const s = await seed(h, { creditLimit: 1000, price: 12.5, stock: 10 });
    const date = nextDate();
    const before = await snapshot(h, s, date);
    const body = orderBody(s, { quantity: 3, deliveryDate: date });

    const state = await runOrder(body);

    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect(state.total).toBe(37.5);
    expect(state.failure).toBeNull();
    expect(state.steps.map((x) => [x.name, x.status])).toEqual([
      ['priceOrder', 'COMPLETED'],
      ...steps.map((name) => [name, 'COMPLETED']),
    ]);
    expect(state.steps.every((x) => x.attempts === 1 && x.completedAt !== null)).toBe(true);
    // In history order: every step as a local activity but processPayment, then the loyalty notification, a local
    // activity in the last workflow task since patched('loyalty-in-task').
    expect(await participantCalls(body.orderId)).toEqual([
      ...['priceOrder', ...steps].map((name) => ({ name, local: !regularSteps.includes(name) })),
      { name: 'recordCompletedOrder', local: true },
    ]);
    const after = await snapshot(h, s, date, body.orderId);
    expect(after.creditAvailableCents).toBe(before.creditAvailableCents! - 3750);
    expect(after.stock).toBe(before.stock! - 3);
    expect(after.chargedCents).toBe(3750);
    expect(after.liveShipments).toBe(1);
    expect(after.vehicleLoad).toBe(before.vehicleLoad + 1);
    // The API reads the same state through the query. `state` was read from the live run; once the run has
    // closed (after the loyalty notification) a read replays the history, which re-derives local steps' times a
    // few milliseconds apart (docs/sagas.md "Step times"): so the API's answer equals a read of the closed saga,
    // and `state` in everything but those times.
    const handle = h.client.workflow.getHandle(orderWorkflowId(body.orderId));
    await sagaResult(handle);
    const read = await http(h.baseUrl, 'GET', `/orders/${body.orderId}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(await handle.query(getStateQuery));
    const withoutStepTimes = (x: OrderState) => ({
      ...x,
      steps: x.steps.map(({ startedAt: _s, completedAt: _c, compensatedAt: _d, ...rest }) => rest),
    });
    expect(withoutStepTimes(read.body as OrderState)).toEqual(withoutStepTimes(state));
  });

  /** How to make each step fail with its business failure. */
  const failurePoints: { step: string; type: string; arrange: () => Promise<ReturnType<typeof orderBody>> }[] = [
    {
      step: 'reserveCredit',
      type: 'InsufficientCredit',
      arrange: async () => orderBody(await seed(h, { creditLimit: 5, price: 10 }), { deliveryDate: nextDate() }),
    },
    {
      step: 'reserveInventory',
      type: 'OutOfStock',
      arrange: async () => orderBody(await seed(h, { stock: 1 }), { quantity: 2, deliveryDate: nextDate() }),
    },
    {
      step: 'processPayment',
      type: 'PaymentDeclined',
      arrange: async () => orderBody(await seed(h), { token: 'tok_declined', deliveryDate: nextDate() }),
    },
    {
      step: 'createShipment',
      type: 'ShipmentRejected',
      arrange: async () => orderBody(await seed(h), { country: 'AQ', deliveryDate: nextDate() }),
    },
    {
      step: 'reserveVehicle',
      type: 'NoVehicleAvailable',
      arrange: async () => {
        // The only vehicle has room for one delivery a day: a first order takes it.
        const date = nextDate();
        const first = await runOrder(orderBody(await seed(h), { deliveryDate: date }));
        expect(first.status).toBe(SagaStatus.COMPLETED);
        return orderBody(await seed(h), { deliveryDate: date });
      },
    },
  ];

  test.each(failurePoints)(
    'when $step fails with $type, the started steps are compensated in exact reverse order and the data is restored',
    async ({ step, type, arrange }) => {
      const body = await arrange();
      const s = { customerId: body.customerId, sku: body.items[0]!.sku };
      const before = await snapshot(h, s, body.deliveryDate);

      const state = await runOrder(body);

      expect(state.status).toBe(SagaStatus.COMPENSATED);
      expect(state.failure).toEqual({ step, type, message: expect.any(String) });
      expect(state.cancelled).toBe(false);
      const started = steps.slice(0, steps.indexOf(step) + 1);
      expect(state.steps.map((x) => x.name)).toEqual(['priceOrder', ...started]);
      expect(state.steps.slice(1).every((x) => x.status === 'COMPENSATED')).toBe(true);
      expect(state.steps.find((x) => x.name === step)?.error?.type).toBe(type);

      // From Temporal's own history, not from our state: the steps, then their compensations reversed. The steps
      // ran as local activities (markers) but processPayment, the compensations as regular activities.
      const history = await participantCalls(body.orderId);
      const undone = started.map((x) => compensations[x]).reverse();
      expect(history.map((a) => a.name)).toEqual(['priceOrder', ...started, ...undone]);
      expect(history.filter((a) => a.local).map((a) => a.name)).toEqual([
        'priceOrder',
        ...started.filter((x) => !regularSteps.includes(x)),
      ]);
      expect(history.filter((a) => !a.local).map((a) => a.name)).toEqual([
        ...started.filter((x) => regularSteps.includes(x)),
        ...undone,
      ]);

      const after = await snapshot(h, s, body.deliveryDate, body.orderId);
      expect(after).toEqual({ ...before, chargedCents: 0, liveShipments: 0 });
    },
  );

  test('an unknown product ends the saga before any effect, with nothing to compensate', async () => {
    const s = await seed(h);
    const body = orderBody({ ...s, sku: unique('missing') }, { deliveryDate: nextDate() });
    const state = await runOrder(body);
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.failure).toMatchObject({ step: 'priceOrder', type: 'UnknownProduct' });
    expect(await participantCalls(body.orderId)).toEqual([{ name: 'priceOrder', local: true }]);
  });

  test('a second start with the same orderId answers 409 and starts nothing', async () => {
    const body = orderBody(await seed(h), { deliveryDate: nextDate() });
    const first = await http(h.baseUrl, 'POST', '/orders', body);
    expect(first.status).toBe(202);
    const handle = h.client.workflow.getHandle(orderWorkflowId(body.orderId));
    await waitForSaga(handle);
    const again = await http(h.baseUrl, 'POST', '/orders', body);
    expect(again.status).toBe(409);
    // The workflow id still names the first and only run.
    expect((await handle.describe()).runId).toBe(first.body.runId);
  });

  test('GET of an unknown order answers 404', async () => {
    const res = await http(h.baseUrl, 'GET', `/orders/${unique('nope')}`);
    expect(res.status).toBe(404);
  });
});

import { transportCollections } from '../../store/transport-collections';
import { CUSTOMER_LOYALTY, loyaltyWorkflowId, orderCompletedSignal, type LoyaltyState } from '../../common/loyalty';
import { orderWorkflowId } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { pollUntil } from '../../scripts/lib/wait';
import type { customerLoyalty } from '../../workflows';
import { addVehicle, orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { http, startHarness, waitForSaga, type Harness } from '../support/harness';

let h: Harness;
const deliveryDate = '2027-06-01';

beforeAll(async () => {
  h = await startHarness('loyalty');
  await addVehicle(h, 1000);
});
afterAll(async () => h?.stop());

/** Runs one real order saga to COMPLETED. */
async function completeOrder(s: Seeded, orderId = unique('ord')): Promise<string> {
  const started = await http(h.baseUrl, 'POST', '/orders', orderBody(s, { orderId, quantity: 1, deliveryDate }));
  expect(started.status).toBe(202);
  const state = await waitForSaga(h.client.workflow.getHandle(orderWorkflowId(orderId)));
  expect(state.status).toBe(SagaStatus.COMPLETED);
  return orderId;
}

async function loyalty(customerId: string): Promise<{ status: number; body: LoyaltyState }> {
  return http(h.baseUrl, 'GET', `/customers/${customerId}/loyalty`);
}

function until(customerId: string, done: (s: LoyaltyState) => boolean): Promise<LoyaltyState> {
  const read = async () => (await loyalty(customerId)).body;
  return pollUntil(`the loyalty of ${customerId} gets there`, read, done, { timeoutMs: 30_000, intervalMs: 100 });
}

describe('the customer loyalty entity workflow, end to end on the real servers', () => {
  test('a first completed order starts the loyalty workflow by itself (signal-with-start from the order saga)', async () => {
    const s = await seed(h);
    expect(await loyalty(s.customerId)).toMatchObject({
      status: 200,
      body: { customerId: s.customerId, completedOrders: 0, discounts: [] },
    });
    await completeOrder(s);
    expect(await until(s.customerId, (l) => l.completedOrders === 1)).toEqual({
      customerId: s.customerId,
      completedOrders: 1,
      discounts: [],
    });
  });

  test("since patched('loyalty-in-task') the notification is a local activity in the saga's last workflow task; a lost result counts once", async () => {
    const s = await seed(h);
    const orderId = unique('ord');
    const workflowId = orderWorkflowId(orderId);
    // Its first attempt signals, then its result is lost: the local activity runs again and signals again.
    h.hooks.add({ workflowId, activity: 'recordCompletedOrder', lose: 1 });
    await completeOrder(s, orderId);
    expect(await until(s.customerId, (l) => l.completedOrders >= 1)).toMatchObject({ completedOrders: 1 });
    const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    // No regular activity for it, and no workflow task after the last append: it ran beside it.
    const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled).not.toContain('recordCompletedOrder');
    const loyaltySignals = (
      await h.client.workflow.getHandle(loyaltyWorkflowId(s.customerId)).fetchHistory()
    ).events?.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === orderCompletedSignal.name);
    expect(loyaltySignals?.length).toBe(2); // signalled twice (the lost result), counted once
    expect((await loyalty(s.customerId)).body.completedOrders).toBe(1);
  });

  test('25 completed orders give exactly 2 discounts across continue-as-new; repeated notifications count once', async () => {
    const s = await seed(h, { creditLimit: 10_000, price: 1, stock: 1000 });
    const workflowId = loyaltyWorkflowId(s.customerId);
    // Started ahead of the first order only to set a small history threshold, so it continues as new here.
    const first = await h.client.workflow.start<typeof customerLoyalty>(CUSTOMER_LOYALTY, {
      workflowId,
      taskQueue: h.taskQueue,
      args: [{ customerId: s.customerId, continueAsNewAfterEvents: 40 }],
    });

    const orderIds: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      orderIds.push(...(await Promise.all(Array.from({ length: 5 }, () => completeOrder(s)))));
      // What a retried recordCompletedOrder does: the same order reported again.
      const again = orderIds[orderIds.length - 1 - batch]!;
      await h.client.workflow.getHandle(workflowId).signal(orderCompletedSignal, { orderId: again });
    }

    const state = await until(s.customerId, (l) => l.completedOrders >= 25 && l.discounts.length >= 2);
    expect(state.completedOrders).toBe(25);
    expect(state.discounts.map((d) => [d.number, d.orderCount, d.percent, d.id])).toEqual([
      [1, 10, 10, `${workflowId}:discount-1`],
      [2, 20, 10, `${workflowId}:discount-2`],
    ]);
    const { runId } = await h.client.workflow.getHandle(workflowId).describe();
    expect(runId).not.toBe(first.firstExecutionRunId); // it continued as new at least once
    const { loyaltyDiscounts } = transportCollections(h.db);
    expect(await loyaltyDiscounts.countDocuments({ customerId: s.customerId })).toBe(2);

    // Late duplicates of orders counted before the hand-over are still recognised: after them a new order
    // (signals are handled in order) brings the count to 26, not 29.
    const handle = h.client.workflow.getHandle(workflowId);
    for (const orderId of orderIds.slice(0, 3)) await handle.signal(orderCompletedSignal, { orderId });
    await handle.signal(orderCompletedSignal, { orderId: unique('late') });
    expect((await until(s.customerId, (l) => l.completedOrders >= 26)).completedOrders).toBe(26);
  });

  test('an unknown customer answers 404', async () => {
    const res = await loyalty(unique('nobody'));
    expect(res.status).toBe(404);
  });
});

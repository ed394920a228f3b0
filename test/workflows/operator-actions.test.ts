/**
 * The cancel recorded in `operatorActions`, on the order saga with mocked participants (time-skipping test server):
 * a Temporal cancel request carries no payload, so the API sends `cancelRequested` with the actor just before it,
 * and the saga records the actor when the cancel request reaches it. Without a signal (`temporal workflow cancel`)
 * the cancel is recorded as by `unknown`; a signal with no cancel after it records nothing.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { cancelRequestedSignal, getStateQuery } from '../../common/definitions';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import type { orderSaga } from '../../workflows';
import { done, mockWorker, timeSkippingEnv, type HistoryEvent } from './support';
import { sagaResult } from '../../common/saga-result';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => env?.teardown());

/** Participants whose payment waits until `release()` (then succeeds); `entered` resolves when it is called. */
function heldPayment() {
  let release!: () => void;
  let enter!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const activities = {
    priceOrder: () => done({ totalCents: 2000 }),
    reserveCredit: () => done('applied'),
    reserveInventory: () => done('applied'),
    async processPayment() {
      enter();
      await released;
      return { value: 'applied', attempt: 1 };
    },
    createShipment: () => done('applied'),
    reserveVehicle: () => done('applied'),
    recordCompletedOrder: () => done(undefined),
    refundPayment: () => done('undone'),
    releaseInventory: () => done('undone'),
    releaseCredit: () => done('undone'),
    cancelShipment: () => done('undone'),
    releaseVehicle: () => done('undone'),
  };
  return { entered, release, activities };
}

async function run(activities: object, fn: (handle: Handle) => Promise<void>): Promise<void> {
  const taskQueue = `operator-actions-${randomUUID()}`;
  const worker: Worker = await mockWorker(env, taskQueue, activities);
  const orderId = randomUUID().slice(0, 8);
  const input: OrderSagaInput = {
    orderId,
    customerId: 'cust-1',
    items: [{ sku: 'sku-1', quantity: 1 }],
    payment: { token: 'tok_ok' },
    shippingAddress: { line1: '1 Main Street', city: 'Dublin', postalCode: 'D01 F5P2', country: 'IE' },
    deliveryDate: '2027-03-01',
  };
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start<typeof orderSaga>(ORDER_SAGA, {
      taskQueue,
      workflowId: orderWorkflowId(orderId),
      args: [input],
    });
    await fn(handle);
  });
}

type Handle = WorkflowHandleWithFirstExecutionRunId<typeof orderSaga>;

/** The final state of a cancelled saga (its result is the cancellation, so read the state by query). */
async function cancelledState(handle: Handle): Promise<OrderState> {
  await expect(handle.result()).rejects.toThrow();
  return (await handle.query(getStateQuery)) as OrderState;
}

describe('cancellations in operatorActions (time-skipping, mocked participants)', () => {
  test('cancelRequested then a cancel: the cancel is recorded with the actor, the reason and the workflow time', async () => {
    const { entered, release, activities } = heldPayment();
    await run(activities, async (handle) => {
      await entered;
      const before = await env.currentTimeMs();
      await handle.signal(cancelRequestedSignal, { by: 'alice', byKind: 'api-key', reason: 'customer called' });
      await handle.cancel();
      const state = await cancelledState(handle);
      release(); // after the saga closed: a payment completing as its cancel goes out trips the test server
      expect(state).toMatchObject({ status: SagaStatus.COMPENSATED, cancelled: true });
      expect(state.operatorActions).toEqual([
        { action: 'cancel', by: 'alice', byKind: 'api-key', reason: 'customer called', at: expect.any(String) },
      ]);
      expect(Date.parse(state.operatorActions[0]!.at)).toBeGreaterThanOrEqual(before - 1_000);
      // The history holds the signal with its argument, before the cancel request.
      const events: HistoryEvent[] = (await handle.fetchHistory()).events ?? [];
      const signalled = events.findIndex(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'cancelRequested',
      );
      const cancelRequested = events.findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes);
      expect(signalled).toBeGreaterThan(0);
      expect(cancelRequested).toBeGreaterThan(signalled);
    });
  });

  test('a cancel with no cancelRequested before it (the CLI) is recorded as by unknown', async () => {
    const { entered, release, activities } = heldPayment();
    await run(activities, async (handle) => {
      await entered;
      await handle.cancel();
      const state = await cancelledState(handle);
      release(); // after the saga closed: a payment completing as its cancel goes out trips the test server
      expect(state.operatorActions).toEqual([
        { action: 'cancel', by: 'unknown', byKind: 'unknown', reason: null, at: expect.any(String) },
      ]);
    });
  });

  test('a cancelRequested that no cancel follows (the saga finished first) records nothing', async () => {
    const { entered, release, activities } = heldPayment();
    await run(activities, async (handle) => {
      await entered;
      await handle.signal(cancelRequestedSignal, { by: 'alice', byKind: 'api-key' });
      release();
      const state = await sagaResult(handle);
      expect(state.status).toBe(SagaStatus.COMPLETED);
      expect(state.operatorActions).toEqual([]);
    });
  });

  test('what a signal cannot refuse is read defensively: a malformed actor is unknown, an over-long reason cut to 500', async () => {
    const { entered, release, activities } = heldPayment();
    await run(activities, async (handle) => {
      await entered;
      // As `temporal workflow signal --input` could send it: wrong types, an unknown kind, a long reason.
      const malformed = { by: 42, byKind: 'root', reason: 'r'.repeat(600) } as unknown as { by: string };
      await handle.signal(cancelRequestedSignal, malformed);
      await handle.cancel();
      const [action] = (await cancelledState(handle)).operatorActions;
      release();
      expect(action).toEqual({
        action: 'cancel',
        by: 'unknown',
        byKind: 'unknown',
        reason: 'r'.repeat(500),
        at: expect.any(String),
      });
    });
  });
});

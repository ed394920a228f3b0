/**
 * The compensation engine's `retryCompensation` signal, on the order saga with mocked participants (time-skipping
 * test server): the signal is honoured only while the saga is FAILED, waiting for an operator. One sent earlier (a
 * stray or early signal while the saga runs, a duplicate while the operator's retry runs) is ignored, so the next
 * compensation failure still waits for an operator instead of retrying at once. Each honoured signal is recorded in
 * the state's `operatorActions` with the actor its argument names; an old-style signal without one, as `unknown`.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { retryCompensationSignal } from '../../common/definitions';
import { BusinessFailure } from '../../common/failures';
import type { OperatorActor } from '../../common/operator-action';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput } from '../../common/order';
import { SagaStatus, StepStatus } from '../../common/saga-state';
import type { orderSaga } from '../../workflows';
import { done, mockWorker, ok, orderState, timeSkippingEnv, untilSignalHandled, untilStatus } from './support';
import { sagaResult } from '../../common/saga-result';

/** A call held until the test lets it go; `entered` resolves when it arrives. */
function hold() {
  let release!: () => void;
  let enter!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (enter = resolve));
  return { entered, release, pass: () => (enter(), released) };
}

type Held = ReturnType<typeof hold>;

/**
 * Participants for an order whose payment is declined (after `payment`, when given, lets it go), and whose
 * `releaseInventory` runs call by call as `inventory` says: held first if a hold is given, then failing
 * non-retryably or succeeding. Records every compensation call in order.
 */
function mockParticipants({ payment, inventory }: { payment?: Held; inventory: { hold?: Held; fail: boolean }[] }) {
  const compensations: string[] = [];
  let inventoryCalls = 0;
  const activities = {
    priceOrder: () => done({ totalCents: 2000 }),
    reserveCredit: () => done('applied'),
    reserveInventory: () => done('applied'),
    async processPayment() {
      await payment?.pass();
      throw ApplicationFailure.nonRetryable('Card declined', BusinessFailure.PaymentDeclined);
    },
    refundPayment() {
      compensations.push('refundPayment');
      return done('undone');
    },
    async releaseInventory() {
      const call = inventory[inventoryCalls++] ?? { fail: false };
      compensations.push('releaseInventory');
      await call.hold?.pass();
      if (call.fail) throw ApplicationFailure.nonRetryable('Injected failure of releaseInventory', 'InjectedFault');
      return ok('undone');
    },
    releaseCredit() {
      compensations.push('releaseCredit');
      return done('undone');
    },
  };
  return { compensations, activities };
}

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => env?.teardown());

async function withWorker<T>(activities: object, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `retry-compensation-${randomUUID()}`;
  const worker: Worker = await mockWorker(env, taskQueue, activities);
  return worker.runUntil(fn(taskQueue));
}

async function start(taskQueue: string) {
  const orderId = randomUUID().slice(0, 8);
  const input: OrderSagaInput = {
    orderId,
    customerId: 'cust-1',
    items: [{ sku: 'sku-1', quantity: 2 }],
    payment: { token: 'tok_declined' },
    shippingAddress: { line1: '1 Main Street', city: 'Dublin', postalCode: 'D01 F5P2', country: 'IE' },
    deliveryDate: '2027-03-01',
  };
  return env.client.workflow.start<typeof orderSaga>(ORDER_SAGA, {
    taskQueue,
    workflowId: orderWorkflowId(orderId),
    args: [input],
  });
}

type Handle = Awaited<ReturnType<typeof start>>;

/** Sends `retryCompensation` and waits until a workflow task has handled it. */
async function signalAndWaitHandled(handle: Handle, actor?: OperatorActor): Promise<void> {
  await handle.signal(retryCompensationSignal, ...(actor ? [actor] : []));
  await untilSignalHandled(handle, 'the retryCompensation signal');
}

describe('retryCompensation is honoured only while the saga is FAILED (time-skipping, mocked participants)', () => {
  test('a retryCompensation sent while the saga is RUNNING is ignored: a failed compensation still waits for the operator', async () => {
    const payment = hold();
    const { compensations, activities } = mockParticipants({ payment, inventory: [{ fail: true }, { fail: false }] });
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      await payment.entered;
      expect((await orderState(handle)).status).toBe(SagaStatus.RUNNING);
      await signalAndWaitHandled(handle); // the stray signal, before anything failed
      payment.release();

      const failed = await untilStatus(handle, [SagaStatus.FAILED, SagaStatus.COMPENSATED]);
      expect(failed.status).toBe(SagaStatus.FAILED);
      expect(failed.compensationFailure).toMatchObject({ step: 'reserveInventory', compensation: 'releaseInventory' });
      expect(compensations).toEqual(['refundPayment', 'releaseInventory']);

      // Still waiting: nothing retries without an operator.
      expect((await orderState(handle)).status).toBe(SagaStatus.FAILED);
      expect(compensations).toEqual(['refundPayment', 'releaseInventory']);

      // The operator's signal, sent while FAILED, is honoured: old-style, without an argument.
      await handle.signal(retryCompensationSignal);
      const final = await sagaResult(handle);
      expect(final.status).toBe(SagaStatus.COMPENSATED);
      // Only the honoured signal is recorded; without an argument its actor is unknown.
      expect(final.operatorActions).toEqual([
        { action: 'retry-compensation', by: 'unknown', byKind: 'unknown', reason: null, at: expect.any(String) },
      ]);
      expect(final.steps.find((s) => s.name === 'reserveInventory')?.status).toBe(StepStatus.COMPENSATED);
      expect(compensations).toEqual(['refundPayment', 'releaseInventory', 'releaseInventory', 'releaseCredit']);
    });
  });

  test('a duplicate retryCompensation sent while the retry runs is ignored: the retry failing again waits for the operator', async () => {
    const retry = hold();
    const { compensations, activities } = mockParticipants({
      inventory: [{ fail: true }, { hold: retry, fail: true }, { fail: false }],
    });
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      expect((await untilStatus(handle, [SagaStatus.FAILED])).compensationFailure?.compensation).toBe(
        'releaseInventory',
      );

      await handle.signal(retryCompensationSignal, { by: 'bob', byKind: 'api-key', reason: 'disk replaced' });
      await retry.entered;
      expect((await orderState(handle)).status).toBe(SagaStatus.COMPENSATING);
      await signalAndWaitHandled(handle, { by: 'carol', byKind: 'jwt' }); // a duplicate (a second operator) while it runs
      retry.release();

      const failedAgain = await untilStatus(handle, [SagaStatus.FAILED, SagaStatus.COMPENSATED]);
      expect(failedAgain.status).toBe(SagaStatus.FAILED);
      expect(compensations).toEqual(['refundPayment', 'releaseInventory', 'releaseInventory']);

      await handle.signal(retryCompensationSignal, { by: 'dave', byKind: 'api-key' });
      const final = await sagaResult(handle);
      expect(final.status).toBe(SagaStatus.COMPENSATED);
      // The two honoured retries, in order, each with its actor and the workflow time; the ignored duplicate is not.
      expect(final.operatorActions).toEqual([
        { action: 'retry-compensation', by: 'bob', byKind: 'api-key', reason: 'disk replaced', at: expect.any(String) },
        { action: 'retry-compensation', by: 'dave', byKind: 'api-key', reason: null, at: expect.any(String) },
      ]);
      const [first, second] = final.operatorActions.map((a) => Date.parse(a.at));
      expect(first).toBeLessThanOrEqual(second!);
      expect(compensations).toEqual([
        'refundPayment',
        'releaseInventory',
        'releaseInventory',
        'releaseInventory',
        'releaseCredit',
      ]);
    });
  });
});

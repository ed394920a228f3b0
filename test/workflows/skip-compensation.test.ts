/**
 * The compensation engine's `skipCompensation` signal, on the order saga with mocked participants (time-skipping
 * test server): an operator who resolved a failed compensation by hand skips it with a reason; the saga marks it
 * COMPENSATION_SKIPPED, records who, when and why in `operatorActions` and as a domain event, and goes on with the
 * next compensation. A skip without a reason, or sent while the saga is not FAILED, is ignored.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { skipCompensationSignal } from '../../common/definitions';
import { BusinessFailure } from '../../common/failures';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput } from '../../common/order';
import { SagaStatus, StepStatus } from '../../common/saga-state';
import type { orderSaga } from '../../workflows';
import {
  appendedEvents,
  done,
  mockWorker,
  ok,
  orderState,
  timeSkippingEnv,
  untilSignalHandled,
  untilStatus,
} from './support';
import { sagaResult } from '../../common/saga-result';

/** A declined payment, then releaseInventory failing non-retryably every time: only an operator can go on. */
function participants() {
  const compensations: string[] = [];
  const activities = {
    priceOrder: () => done({ totalCents: 2000 }),
    reserveCredit: () => done('applied'),
    reserveInventory: () => done('applied'),
    processPayment: () =>
      Promise.reject(ApplicationFailure.nonRetryable('Card declined', BusinessFailure.PaymentDeclined)),
    refundPayment() {
      compensations.push('refundPayment');
      return done('undone');
    },
    releaseInventory() {
      compensations.push('releaseInventory');
      return Promise.reject(ApplicationFailure.nonRetryable('Injected failure of releaseInventory', 'InjectedFault'));
    },
    releaseCredit() {
      compensations.push('releaseCredit');
      return Promise.resolve(ok('undone'));
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
  const taskQueue = `skip-compensation-${randomUUID()}`;
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

describe('skipCompensation: an operator resolves a failed compensation by hand (time-skipping, mocked participants)', () => {
  test('a skip with a reason marks the compensation skipped, records who, when and why, and the saga compensates the rest', async () => {
    const { compensations, activities } = participants();
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      const failed = await untilStatus(handle, [SagaStatus.FAILED]);
      expect(failed.compensationFailures).toEqual([
        expect.objectContaining({ step: 'reserveInventory', compensation: 'releaseInventory', type: 'InjectedFault' }),
      ]);
      expect(compensations).toEqual(['refundPayment', 'releaseInventory']);

      const reason = 'stock counted and put back by hand';
      await handle.signal(skipCompensationSignal, { by: 'erin', byKind: 'api-key', reason });
      const final = await sagaResult(handle);

      expect(final.status).toBe(SagaStatus.COMPENSATED);
      // The skipped compensation is not run again; the saga went on with the next one.
      expect(compensations).toEqual(['refundPayment', 'releaseInventory', 'releaseCredit']);
      const byStep = Object.fromEntries(final.steps.map((s) => [s.name, s.status]));
      expect(byStep).toMatchObject({
        processPayment: StepStatus.COMPENSATED,
        reserveInventory: StepStatus.COMPENSATION_SKIPPED,
        reserveCredit: StepStatus.COMPENSATED,
      });
      expect(final.compensationFailure).toBeNull();
      expect(final.compensationFailures).toEqual([]);
      expect(final.operatorActions).toEqual([
        {
          action: 'skip-compensation',
          by: 'erin',
          byKind: 'api-key',
          reason,
          at: expect.any(String),
          step: 'reserveInventory',
          compensation: 'releaseInventory',
        },
      ]);
      // The domain events: the skip, then the next compensation; no reason or name in them.
      const events = appendedEvents.get(handle.workflowId) ?? [];
      const tail = events.slice(events.findIndex((e) => e.type === 'WaitingForOperator')).map((e) => e.type);
      expect(tail).toEqual([
        'WaitingForOperator',
        'OperatorActionRecorded',
        'CompensationSkipped',
        'CompensationCompleted',
        'SagaCompensated',
      ]);
      expect(events.find((e) => e.type === 'CompensationSkipped')?.data).toEqual({
        step: 'reserveInventory',
        compensation: 'releaseInventory',
      });
      expect(JSON.stringify(events)).not.toContain('by hand');
      // The history keeps the signal with its argument.
      const history = (await handle.fetchHistory()).events ?? [];
      const signal = history.find(
        (e) => e.workflowExecutionSignaledEventAttributes,
      )?.workflowExecutionSignaledEventAttributes;
      expect(signal?.signalName).toBe('skipCompensation');
    });
  });

  test('a skip without a reason, or sent while the saga is running, is ignored: the saga still waits for the operator', async () => {
    const { compensations, activities } = participants();
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      // Sent at once: the saga is not FAILED yet when it handles it (or it is, and then this is a plain skip
      // without reason); either way it must be ignored.
      await handle.signal(skipCompensationSignal, { by: 'erin', byKind: 'api-key' });
      await untilStatus(handle, [SagaStatus.FAILED]);
      await handle.signal(skipCompensationSignal, { by: 'erin', byKind: 'api-key', reason: '' });
      await untilSignalHandled(handle);
      const waiting = await orderState(handle);
      expect(waiting.status).toBe(SagaStatus.FAILED);
      expect(waiting.operatorActions).toEqual([]);
      expect(waiting.steps.find((s) => s.name === 'reserveInventory')?.status).toBe(StepStatus.COMPENSATION_FAILED);
      expect(compensations).toEqual(['refundPayment', 'releaseInventory']);

      // A skip naming a step the saga does not wait on is ignored too; one naming the failed step is honoured.
      await handle.signal(skipCompensationSignal, { reason: 'wrong step', step: 'reserveCredit' });
      await untilSignalHandled(handle);
      expect((await orderState(handle)).status).toBe(SagaStatus.FAILED);
      await handle.signal(skipCompensationSignal, { reason: 'done by hand', step: 'reserveInventory' });
      const final = await sagaResult(handle);
      expect(final.status).toBe(SagaStatus.COMPENSATED);
      expect(final.operatorActions).toEqual([
        expect.objectContaining({ action: 'skip-compensation', by: 'unknown', reason: 'done by hand' }),
      ]);
      expect(compensations).toEqual(['refundPayment', 'releaseInventory', 'releaseCredit']);
    });
  });
});

/**
 * Compensation policies (`compensation` in a saga definition's header), on the order saga's definition with mocked
 * participants (time-skipping test server; the test-only workflow types of `fixtures/policy-sagas.ts`). The
 * default, sequential and stop, is the rest of test/workflows/. Here: `parallel` starts every started step's
 * compensation at once; `continue` goes past a compensation that keeps failing, runs the others, lists every
 * failure in the state and waits for the operator on each (retry or skip one by its step, or all).
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { retryCompensationSignal, skipCompensationSignal } from '../../common/definitions';
import { BusinessFailure } from '../../common/failures';
import { orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { SagaStatus, StepStatus } from '../../common/saga-state';
import { done, mockWorker, ok, orderState, timeSkippingEnv, untilStatus } from './support';
import { sagaResult } from '../../common/saga-result';

const policyWorkflows = path.join(__dirname, 'fixtures', 'policy-sagas.ts');

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => env?.teardown());

type Undo = 'refundPayment' | 'releaseInventory' | 'releaseCredit';

/**
 * A declined payment; each compensation's calls as `plan` says (true: fails non-retryably), after `before` (a
 * barrier, when given). `log` records `enter:<name>` and `leave:<name>` of each call.
 */
function participants(plan: Partial<Record<Undo, boolean[]>>, before?: () => Promise<void>) {
  const log: string[] = [];
  const calls: Record<string, number> = {};
  const undo = (name: Undo) => async () => {
    log.push(`enter:${name}`);
    await before?.();
    const fail = plan[name]?.[calls[name] ?? 0] ?? false;
    calls[name] = (calls[name] ?? 0) + 1;
    log.push(`leave:${name}`);
    if (fail) throw ApplicationFailure.nonRetryable(`Injected failure of ${name}`, 'InjectedFault');
    return ok('undone');
  };
  const activities = {
    priceOrder: () => done({ totalCents: 2000 }),
    reserveCredit: () => done('applied'),
    reserveInventory: () => done('applied'),
    processPayment: () =>
      Promise.reject(ApplicationFailure.nonRetryable('Card declined', BusinessFailure.PaymentDeclined)),
    refundPayment: undo('refundPayment'),
    releaseInventory: undo('releaseInventory'),
    releaseCredit: undo('releaseCredit'),
  };
  return { log, activities };
}

/** Resolves for every caller once `n` callers are waiting: they all ran at the same time. */
function barrier(n: number) {
  let waiting = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++waiting >= n) open();
    return opened;
  };
}

async function run<T>(workflowType: string, activities: object, fn: (handle: Handle) => Promise<T>): Promise<T> {
  const taskQueue = `policies-${randomUUID()}`;
  const worker: Worker = await mockWorker(env, taskQueue, activities, policyWorkflows);
  const orderId = randomUUID().slice(0, 8);
  const input: OrderSagaInput = {
    orderId,
    customerId: 'cust-1',
    items: [{ sku: 'sku-1', quantity: 2 }],
    payment: { token: 'tok_declined' },
    shippingAddress: { line1: '1 Main Street', city: 'Dublin', postalCode: 'D01 F5P2', country: 'IE' },
    deliveryDate: '2027-03-01',
  };
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(workflowType, {
      taskQueue,
      workflowId: orderWorkflowId(orderId),
      args: [input],
    });
    return fn(handle);
  });
}
type Handle = Awaited<ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>>;

describe('compensation policies (time-skipping, mocked participants)', () => {
  test("order 'parallel': every started step's compensation runs at once; two that fail both wait for the operator", async () => {
    // Each compensation waits until all three have started: run one by one, the first would wait for ever.
    const { log, activities } = participants(
      { releaseInventory: [true, false], releaseCredit: [true, false] },
      barrier(3),
    );
    await run('orderSagaParallelCompensation', activities, async (handle) => {
      const failed = await untilStatus(handle, [SagaStatus.FAILED]);
      expect(log.slice(0, 3).sort()).toEqual(['enter:refundPayment', 'enter:releaseCredit', 'enter:releaseInventory']);
      expect(failed.compensationFailures.map((f) => f.step).sort()).toEqual(['reserveCredit', 'reserveInventory']);
      expect(failed.compensationFailure).toEqual(failed.compensationFailures[0]);
      const byStep = Object.fromEntries(failed.steps.map((s) => [s.name, s.status]));
      expect(byStep).toMatchObject({
        processPayment: StepStatus.COMPENSATED,
        reserveInventory: StepStatus.COMPENSATION_FAILED,
        reserveCredit: StepStatus.COMPENSATION_FAILED,
      });

      // One retry for all of them: both run again (at once) and succeed.
      await handle.signal(retryCompensationSignal, { by: 'ops', byKind: 'api-key', reason: 'fixed' });
      const final = (await sagaResult(handle)) as OrderState;
      expect(final.status).toBe(SagaStatus.COMPENSATED);
      expect(final.compensationFailures).toEqual([]);
      expect(final.steps.every((s) => s.status === StepStatus.COMPENSATED || s.compensation === null)).toBe(true);
    });
  });

  test("onFailure 'continue': a failing compensation does not stop the others; the operator resolves each failure by its step", async () => {
    const { log, activities } = participants({
      refundPayment: [true, false],
      releaseInventory: [true, true],
    });
    await run('orderSagaContinueOnFailure', activities, async (handle) => {
      const failed = await untilStatus(handle, [SagaStatus.FAILED]);
      // Every compensation ran, in reverse order, past the two failures.
      expect(log.filter((l) => l.startsWith('enter:'))).toEqual([
        'enter:refundPayment',
        'enter:releaseInventory',
        'enter:releaseCredit',
      ]);
      expect(failed.compensationFailures.map((f) => [f.step, f.compensation])).toEqual([
        ['processPayment', 'refundPayment'],
        ['reserveInventory', 'releaseInventory'],
      ]);
      expect(failed.steps.find((s) => s.name === 'reserveCredit')?.status).toBe(StepStatus.COMPENSATED);

      // Skip one by its step: the saga stays FAILED, waiting on the other.
      await handle.signal(skipCompensationSignal, {
        by: 'ops',
        byKind: 'api-key',
        reason: 'restocked by hand',
        step: 'reserveInventory',
      });
      for (let i = 0; i < 200 && (await orderState(handle)).compensationFailures.length > 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const one = await orderState(handle);
      expect(one.status).toBe(SagaStatus.FAILED);
      expect(one.compensationFailures.map((f) => f.step)).toEqual(['processPayment']);
      expect(one.steps.find((s) => s.name === 'reserveInventory')?.status).toBe(StepStatus.COMPENSATION_SKIPPED);

      // Retry the other by its step: it succeeds and the saga is compensated.
      await handle.signal(retryCompensationSignal, { by: 'ops', byKind: 'api-key', step: 'processPayment' });
      const final = (await sagaResult(handle)) as OrderState;
      expect(final.status).toBe(SagaStatus.COMPENSATED);
      expect(final.operatorActions.map((a) => [a.action, a.step ?? null])).toEqual([
        ['skip-compensation', 'reserveInventory'],
        ['retry-compensation', null],
      ]);
      expect(log.filter((l) => l.startsWith('enter:'))).toEqual([
        'enter:refundPayment',
        'enter:releaseInventory',
        'enter:releaseCredit',
        'enter:refundPayment',
      ]);
    });
  });
});

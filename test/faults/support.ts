import type { WorkflowHandle } from '@temporalio/client';
import type { FaultPlan } from '../../workers/interceptors/fault-injection';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../../common/search-attributes';
import type { orderSaga } from '../../workflows';
import type { Harness } from '../support/harness';
import { startTestWorker, type TestWorker } from '../support/lane';

export type RunningWorker = TestWorker;

/**
 * Starts a worker in this process with a fault plan (the `SAGA_FAULTS` hook, docs/faults.md) on `taskQueue`
 * (default: the harness's, whose own worker is shut down first so that only this one polls it).
 */
export async function faultyWorker(
  h: Harness,
  plan: FaultPlan | undefined,
  taskQueue = h.taskQueue,
): Promise<RunningWorker> {
  if (taskQueue === h.taskQueue && h.worker.getState() === 'RUNNING') {
    h.worker.shutdown();
    while (h.worker.getState() !== 'STOPPED' && h.worker.getState() !== 'FAILED') {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return startTestWorker({ db: h.db, client: h.client }, { taskQueue, faults: plan });
}

/** Starts an order saga directly on a task queue, as the API does (the API always uses the harness's queue). */
export async function startOrderSaga(
  h: Harness,
  input: OrderSagaInput,
  taskQueue = h.taskQueue,
): Promise<WorkflowHandle<typeof orderSaga>> {
  return h.client.workflow.start<typeof orderSaga>(ORDER_SAGA, {
    taskQueue,
    workflowId: orderWorkflowId(input.orderId),
    args: [input],
    typedSearchAttributes: [
      { key: SagaStatusKey, value: SagaStatus.RUNNING },
      { key: CustomerIdKey, value: input.customerId },
    ],
  });
}

import type { WorkflowHandle } from '@temporalio/client';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../../common/search-attributes';
import type { orderSaga } from '../../workflows';
import type { Harness } from '../support/harness';

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

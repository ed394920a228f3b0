import { ORDER_SAGA, orderWorkflowId } from './order';
import { TRANSPORT_ORDER, transportWorkflowId } from './transport';

/**
 * What every log line about one saga carries beside its `workflowId` (docs/operations.md, "Logs"), in the worker's
 * lines (workers/interceptors/) and the API's (api/request-log.ts): the saga's type (its workflow type) and its
 * business id (the order id its workflow id is made of).
 */
export interface SagaLogFields {
  sagaType: string;
  sagaId: string;
}

/** The sagas' workflow id schemes, by workflow type. */
const workflowIdOf: Readonly<Record<string, (orderId: string) => string>> = {
  [ORDER_SAGA]: orderWorkflowId,
  [TRANSPORT_ORDER]: transportWorkflowId,
};

/** The saga fields of a workflow; undefined for one that is not a saga (the customer loyalty workflow). */
export function sagaLogFields(workflowType: string, workflowId: string): SagaLogFields | undefined {
  const scheme = workflowIdOf[workflowType];
  const prefix = scheme?.('');
  if (prefix === undefined || !workflowId.startsWith(prefix)) return undefined;
  return { sagaType: workflowType, sagaId: workflowId.slice(prefix.length) };
}

import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import type { Handlers } from '../operations';
import type { SagaKind } from '../sagas/client';
import type { SagaTypeRoutes } from './sagas';

/** The order saga as the API sees it; also what the order intake (bootstrap/order-intake.ts) starts. */
export const orderSagaKind: SagaKind = {
  workflowType: ORDER_SAGA,
  noun: 'Order',
  workflowId: orderWorkflowId,
  location: (id) => `/orders/${id}`,
};

/**
 * Starting, listing, reading, cancelling and following order sagas under `/orders`: the very handlers of
 * `/sagas/order/…` (api/routes/sagas.ts), so that both paths are the same operations.
 */
export function orderHandlers({
  handlers,
}: SagaTypeRoutes<OrderSagaInput, OrderState>): Pick<
  Handlers,
  | 'startOrder'
  | 'listOrders'
  | 'getOrder'
  | 'orderDomainEvents'
  | 'cancelOrder'
  | 'retryCompensation'
  | 'orderEvents'
  | 'orderPlan'
  | 'skipCompensation'
> {
  return {
    startOrder: handlers.start,
    listOrders: handlers.list,
    getOrder: handlers.get,
    orderDomainEvents: handlers.domainEvents,
    cancelOrder: handlers.cancel,
    retryCompensation: handlers.retryCompensation,
    orderEvents: handlers.events,
    orderPlan: handlers.plan,
    skipCompensation: handlers.skipCompensation,
  };
}

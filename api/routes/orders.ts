import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { getStateQuery } from '../../common/definitions';
import { SagaStatus } from '../../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../../common/search-attributes';
import type { orderSaga } from '../../workflows';
import { AppError } from '../errors';
import { CreateOrder, OrderIdParam } from '../schemas';
import { parse } from '../validation';

export interface OrderRoutesDeps {
  temporal: Client;
  taskQueue: string;
}

/** Starting and reading order sagas. */
export function orderRoutes({ temporal, taskQueue }: OrderRoutesDeps): Router {
  const router = Router();

  router.post('/orders', async (req, res) => {
    const body = parse(CreateOrder, req.body, 'body');
    const orderId = body.orderId ?? randomUUID();
    const input: OrderSagaInput = { ...body, orderId };
    const workflowId = orderWorkflowId(orderId);
    try {
      const handle = await temporal.workflow.start<typeof orderSaga>(ORDER_SAGA, {
        taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: [
          { key: SagaStatusKey, value: SagaStatus.RUNNING },
          { key: CustomerIdKey, value: body.customerId },
        ],
        staticSummary: `Order ${orderId} for customer ${body.customerId}`,
        // An order id names one saga for good: never start a second one, even after the first closed.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      res
        .status(202)
        .location(`/orders/${orderId}`)
        .json({ orderId, workflowId, runId: handle.firstExecutionRunId, status: SagaStatus.RUNNING });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw AppError.conflict(`Order ${orderId} has already been started`);
      }
      throw err;
    }
  });

  router.get('/orders/:orderId', async (req, res) => {
    const { orderId } = parse(OrderIdParam, req.params, 'params');
    try {
      const state = (await temporal.workflow.getHandle(orderWorkflowId(orderId)).query(getStateQuery)) as OrderState;
      res.json(state);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw AppError.notFound(`Order ${orderId} does not exist`);
      throw err;
    }
  });

  return router;
}

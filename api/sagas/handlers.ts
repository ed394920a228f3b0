import type { Request, Response } from 'express';
import type { SagaState } from '../../common/saga-state';
import { operatorOf } from '../auth';
import { logSagaOfRequest } from '../request-log';
import type { SagaClient, SagaInput } from './client';

/** The validated request of an operation on one saga (`/<sagas>/:orderId/...`). */
interface OnOneSaga {
  params: { orderId: string };
  /** An operator action's optional body (left out: `{}`). */
  body?: { reason?: string | undefined };
}
type SagaHandler = (input: OnOneSaga, req: Request, res: Response) => Promise<void>;

/**
 * The handlers every saga type answers the same way, over its saga client: read the state, cancel, retry a failed
 * compensation (202 with the saga's Location). Cancel and retry record who asked and why (`operatorOf`). Each saga's
 * routes give them their operation names. Their log lines name the saga (`logSagaOfRequest`).
 */
export function sagaHandlers<I extends SagaInput, S extends SagaState>(
  saga: SagaClient<I, S>,
): { read: SagaHandler; cancel: SagaHandler; retryCompensation: SagaHandler } {
  return {
    async read({ params: { orderId } }, req, res) {
      logSagaOfRequest(req, res, saga.logFields(orderId));
      res.json(await saga.queryState(orderId));
    },
    async cancel({ params: { orderId }, body }, req, res) {
      logSagaOfRequest(req, res, saga.logFields(orderId));
      const accepted = await saga.cancel(orderId, operatorOf(res, body?.reason));
      res.status(202).location(saga.kind.location(orderId)).json(accepted);
    },
    async retryCompensation({ params: { orderId }, body }, req, res) {
      logSagaOfRequest(req, res, saga.logFields(orderId));
      const accepted = await saga.retryCompensation(orderId, operatorOf(res, body?.reason));
      res.status(202).location(saga.kind.location(orderId)).json(accepted);
    },
  };
}

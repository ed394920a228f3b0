import type { Request, Response } from 'express';
import type { SagaState } from '../../common/saga-state';
import type { SagaClient, SagaInput } from './client';

/** The validated request of an operation on one saga (`/<sagas>/:orderId/...`). */
interface OnOneSaga {
  params: { orderId: string };
}
type SagaHandler = (input: OnOneSaga, req: Request, res: Response) => Promise<void>;

/**
 * The handlers every saga type answers the same way, over its saga client: read the state, cancel, retry a failed
 * compensation (202 with the saga's Location). Each saga's routes give them their operation names.
 */
export function sagaHandlers<I extends SagaInput, S extends SagaState>(
  saga: SagaClient<I, S>,
): { read: SagaHandler; cancel: SagaHandler; retryCompensation: SagaHandler } {
  return {
    async read({ params: { orderId } }, _req, res) {
      res.json(await saga.queryState(orderId));
    },
    async cancel({ params: { orderId } }, _req, res) {
      const accepted = await saga.cancel(orderId);
      res.status(202).location(saga.kind.location(orderId)).json(accepted);
    },
    async retryCompensation({ params: { orderId } }, _req, res) {
      const accepted = await saga.retryCompensation(orderId);
      res.status(202).location(saga.kind.location(orderId)).json(accepted);
    },
  };
}

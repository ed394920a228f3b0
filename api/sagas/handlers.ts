import type { Request, Response } from 'express';
import type { SagaState } from '../../common/saga-state';
import { operatorOf } from '../auth';
import { AppError } from '../errors';
import { logSagaOfRequest } from '../request-log';
import type { SagaClient, SagaInput } from './client';
import type { SagaRecord } from './record';
import type { SagaView } from '../../common/shapes/saga-view';

/** The validated request of an operation on one saga (`/<sagas>/:orderId/...`). */
interface OnOneSaga {
  params: { orderId: string };
  /** An operator action's optional body (left out: `{}`). */
  body?: { reason?: string | undefined };
}

/** The validated request of `/<sagas>/:orderId/skip-compensation`: a reason is required. */
interface SkipOnOneSaga {
  params: { orderId: string };
  body: { reason: string; step?: string | undefined };
}
type SagaHandler = (input: OnOneSaga, req: Request, res: Response) => Promise<void>;
type SkipHandler = (input: SkipOnOneSaga, req: Request, res: Response) => Promise<void>;

const isNotFound = (err: unknown) => err instanceof AppError && err.status === 404;

/** The saga's state from its workflow; once Temporal has forgotten it, the read model's view; else 404. */
export async function stateOrView<I extends SagaInput, S extends SagaState>(
  saga: SagaClient<I, S>,
  record: SagaRecord,
  orderId: string,
): Promise<S | SagaView> {
  try {
    return await saga.queryState(orderId);
  } catch (err) {
    const view = isNotFound(err) ? await record.view(orderId) : null;
    if (!view) throw err;
    return view;
  }
}

/**
 * The handlers every saga type answers the same way, over its saga client and its record in MongoDB: read the
 * state (from the workflow; once Temporal has forgotten it, the read model's view), its domain events, cancel, retry
 * a failed compensation, skip it (resolved by hand; 202 with the saga's Location). Cancel, retry and skip record who
 * asked and why (`operatorOf`).
 * Each saga's routes give them their operation names. Their log lines name the saga
 * (`logSagaOfRequest`).
 */
export function sagaHandlers<I extends SagaInput, S extends SagaState>(
  saga: SagaClient<I, S>,
  record: SagaRecord,
): {
  read: SagaHandler;
  domainEvents: SagaHandler;
  cancel: SagaHandler;
  retryCompensation: SagaHandler;
  skipCompensation: SkipHandler;
} {
  return {
    async read({ params: { orderId } }, req, res) {
      logSagaOfRequest(req, res, saga.logFields(orderId));
      res.json(await stateOrView(saga, record, orderId));
    },
    async domainEvents({ params: { orderId } }, req, res) {
      logSagaOfRequest(req, res, saga.logFields(orderId));
      const events = await record.events(orderId);
      // No event yet (just started, or started before domain events): a 404 only if the workflow is unknown too.
      if (events.length === 0) await saga.onSaga(orderId, (h) => h.describe());
      res.json(events);
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
    async skipCompensation({ params: { orderId }, body }, req, res) {
      logSagaOfRequest(req, res, saga.logFields(orderId));
      const { reason, step } = body;
      const accepted = await saga.skipCompensation(orderId, {
        ...operatorOf(res, reason),
        ...(step !== undefined ? { step } : {}),
      });
      res.status(202).location(saga.kind.location(orderId)).json(accepted);
    },
  };
}

import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  DECISION_REFUSED,
  decideUpdate,
  type DecideArgs,
  type DecideResult,
  type TransportOrderInput,
  type TransportOrderState,
} from '../../common/transport';
import { AppError } from '../errors';
import type { SagaClient } from './client';

type TransportOrders = SagaClient<TransportOrderInput, TransportOrderState>;

/**
 * Takes the decision with the saga's `decide` update: its validator refuses it (409) unless a decision is
 * pending or the same one was already taken, atomically inside the workflow, so of two concurrent opposite
 * decisions exactly one is accepted. Repeating the decision taken answers the same (a retry is harmless).
 */
export async function decide(orders: TransportOrders, orderId: string, args: DecideArgs): Promise<DecideResult> {
  try {
    return await orders.deadline(() => orders.handle(orderId).executeUpdate(decideUpdate, { args: [args] }));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      if (err.cause instanceof ApplicationFailure && err.cause.type === DECISION_REFUSED) {
        throw AppError.conflict(err.cause.message);
      }
      throw err;
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      throw AppError.unavailable('Temporal did not answer in time; retry later', { cause: err });
    }
    // Unknown, or closed (an update cannot reach a closed run): its final state says which.
    if (err instanceof WorkflowNotFoundError) return decidedWhenClosed(orders, orderId, args.decision);
    throw err;
  }
}

async function decidedWhenClosed(
  orders: TransportOrders,
  orderId: string,
  decision: DecideArgs['decision'],
): Promise<DecideResult> {
  const state = await orders.queryState(orderId); // 404 when there is no such transport order
  if (state.decision === decision) return { orderId, decision };
  if (state.decision !== null) {
    throw AppError.conflict(`Transport order ${orderId} was already decided: ${state.decision}`);
  }
  throw AppError.conflict(`Transport order ${orderId} has finished (status ${state.status}); it takes no decision`);
}

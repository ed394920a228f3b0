import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { SagaState } from './saga-state';

/** Default task queue of the saga workers. */
export const DEFAULT_TASK_QUEUE = 'sagas';

/**
 * Every saga (the order saga, the transport order: the workflows built on the compensation engine) answers this
 * query, running or closed. The customer loyalty workflow is an entity workflow, not a saga: it has its own query
 * (`getLoyaltyQuery` in `loyalty.ts`) and does not answer this one.
 */
export const getStateQuery = defineQuery<SagaState>('getState');

/**
 * Sent by an operator once the cause of a failed compensation is fixed: the saga retries its
 * compensations from the one that failed. Honoured only while the saga is FAILED; at any other time it is
 * ignored (see `workflows/saga/compensation-stack.ts`).
 */
export const retryCompensationSignal = defineSignal('retryCompensation');

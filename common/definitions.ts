import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { SagaState } from './saga-state';

/** Default task queue of the saga workers. */
export const DEFAULT_TASK_QUEUE = 'sagas';

/** Every saga answers this query, running or closed. */
export const getStateQuery = defineQuery<SagaState>('getState');

/**
 * Sent by an operator once the cause of a failed compensation is fixed: the saga retries its
 * compensations from the one that failed.
 */
export const retryCompensationSignal = defineSignal('retryCompensation');

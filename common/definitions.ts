import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CompensationActor, OperatorActor } from './operator-action';
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
 * ignored (see `workflows/saga/compensation-stack.ts`). Its optional argument says who sends it and why, and
 * which failed compensation (`step`; without it, every one); an honoured signal is recorded in `operatorActions`
 * (without the argument: by `unknown`).
 */
export const retryCompensationSignal = defineSignal<[CompensationActor?]>('retryCompensation');

/**
 * Sent by an operator who resolved a failed compensation by hand: the saga marks it COMPENSATION_SKIPPED, records
 * who, when and why in `operatorActions`, and goes on with the next compensation. Honoured only while the saga is
 * FAILED and only with a reason; `step` names one of the failed compensations (`compensationFailures[].step`),
 * without it every one is skipped. Any other is ignored (see `workflows/saga/compensation-stack.ts`).
 */
export const skipCompensationSignal = defineSignal<[CompensationActor]>('skipCompensation');

/**
 * Sent by the API right before it requests the saga's cancellation (a Temporal cancel request carries nothing the
 * workflow can read): who cancels and why. It changes nothing by itself; the saga records the actor in
 * `operatorActions` when the cancellation request reaches it (a cancel request with no such signal before it,
 * e.g. `temporal workflow cancel`, is recorded as by `unknown`).
 */
export const cancelRequestedSignal = defineSignal<[OperatorActor]>('cancelRequested');

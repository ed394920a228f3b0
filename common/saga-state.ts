/** The state every saga answers to its `getState` query, whatever its shape. */

export const SagaStatus = {
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
  COMPENSATING: 'COMPENSATING',
  COMPENSATED: 'COMPENSATED',
  FAILED: 'FAILED',
} as const;
export type SagaStatus = (typeof SagaStatus)[keyof typeof SagaStatus];

/**
 * How a saga compensates (`SagaHeader.compensation`): `sequential` undoes the started steps one by one, last
 * started first; `parallel` runs every compensation at once. On a compensation that keeps failing, `stop` waits for
 * an operator there; `continue` goes on with the others and then waits for the operator on every one that failed.
 * The default, sequential and stop, is what every saga did before policies existed.
 */
export interface CompensationPolicy {
  order: 'sequential' | 'parallel';
  onFailure: 'stop' | 'continue';
}
export const defaultCompensationPolicy: CompensationPolicy = { order: 'sequential', onFailure: 'stop' };

export const finalSagaStatuses: readonly SagaStatus[] = [SagaStatus.COMPLETED, SagaStatus.COMPENSATED];

export const StepStatus = {
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  COMPENSATING: 'COMPENSATING',
  COMPENSATED: 'COMPENSATED',
  COMPENSATION_FAILED: 'COMPENSATION_FAILED',
  /** An operator resolved the failed compensation by hand and skipped it (`skipCompensation`, with a reason). */
  COMPENSATION_SKIPPED: 'COMPENSATION_SKIPPED',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

// The shapes themselves are zod schemas in `shapes/saga-state.ts`; this module stays free of zod, because the
// workflows import its values (they run in a sandbox that must not load zod).
export type { CompensationFailureInfo, SagaFailureInfo, SagaState, StepError, StepState } from './shapes/saga-state';

/** The state every saga answers to its `getState` query, whatever its shape. */

export const SagaStatus = {
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
  COMPENSATING: 'COMPENSATING',
  COMPENSATED: 'COMPENSATED',
  FAILED: 'FAILED',
} as const;
export type SagaStatus = (typeof SagaStatus)[keyof typeof SagaStatus];

export const finalSagaStatuses: readonly SagaStatus[] = [SagaStatus.COMPLETED, SagaStatus.COMPENSATED];

export const StepStatus = {
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  COMPENSATING: 'COMPENSATING',
  COMPENSATED: 'COMPENSATED',
  COMPENSATION_FAILED: 'COMPENSATION_FAILED',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

// The shapes themselves are zod schemas in `shapes/saga-state.ts`; this module stays free of zod, because the
// workflows import its values (they run in a sandbox that must not load zod).
export type { CompensationFailureInfo, SagaFailureInfo, SagaState, StepError, StepState } from './shapes/saga-state';

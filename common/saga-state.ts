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

export interface StepState {
  name: string;
  status: StepStatus;
  /** Attempts the step's activity took (the last attempt's number), 0 until it reports. */
  attempts: number;
  startedAt: string;
  completedAt: string | null;
  /** Name of the compensation that undoes this step, or null when the step has nothing to undo. */
  compensation: string | null;
  compensatedAt: string | null;
  /** Attempts the compensation took, 0 until it ran. */
  compensationAttempts: number;
  error: StepError | null;
}

export interface StepError {
  type: string;
  message: string;
}

export interface SagaFailureInfo {
  /** The step that failed, or the step running when the saga was cancelled. */
  step: string | null;
  type: string;
  message: string;
}

export interface CompensationFailureInfo {
  step: string;
  compensation: string;
  type: string;
  message: string;
}

export interface SagaState {
  status: SagaStatus;
  steps: StepState[];
  /** Why the saga compensated; null while it is running or when it completed. */
  failure: SagaFailureInfo | null;
  /** Set when a compensation could not succeed; the saga waits for an operator's retry. */
  compensationFailure: CompensationFailureInfo | null;
  cancelled: boolean;
}

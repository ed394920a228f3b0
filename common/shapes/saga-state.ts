import { z } from 'zod';
import { SagaStatus as SagaStatuses, StepStatus as StepStatuses } from '../saga-state';
import { OperatorAction } from './operator-action';
import { Timestamp } from './primitives';

/** The state every saga answers to its `getState` query, whatever its shape (the types: `common/saga-state.ts`). */

export const SagaStatus = z.enum(SagaStatuses);
export const StepStatus = z.enum(StepStatuses);

export const StepError = z.object({ type: z.string(), message: z.string() });
export type StepError = z.infer<typeof StepError>;

export const StepState = z.object({
  name: z.string(),
  status: StepStatus,
  /** Attempts the step's activity took (the last attempt's number), 0 until it reports. */
  attempts: z.number().int(),
  startedAt: Timestamp,
  completedAt: Timestamp.nullable(),
  /** Name of the compensation that undoes this step, or null when the step has nothing to undo. */
  compensation: z.string().nullable(),
  compensatedAt: Timestamp.nullable(),
  /** Attempts the compensation took, 0 until it ran. */
  compensationAttempts: z.number().int(),
  error: StepError.nullable(),
});
export type StepState = z.infer<typeof StepState>;

export const SagaFailureInfo = z.object({
  /** The step that failed, or the step running when the saga was cancelled. */
  step: z.string().nullable(),
  type: z.string(),
  message: z.string(),
});
export type SagaFailureInfo = z.infer<typeof SagaFailureInfo>;

export const CompensationFailureInfo = z.object({
  step: z.string(),
  compensation: z.string(),
  type: z.string(),
  message: z.string(),
});
export type CompensationFailureInfo = z.infer<typeof CompensationFailureInfo>;

export const SagaState = z.object({
  status: SagaStatus,
  steps: z.array(StepState),
  /** Why the saga compensated; null while it is running or when it completed. */
  failure: SagaFailureInfo.nullable(),
  /** Set when a compensation could not succeed; the saga waits for an operator's retry or skip. */
  compensationFailure: CompensationFailureInfo.nullable(),
  /**
   * Every failed compensation the saga waits on, in the order they ran (the first is `compensationFailure`): one
   * under the default policy, more under `onFailure: 'continue'` or `order: 'parallel'`. Empty otherwise.
   */
  compensationFailures: z.array(CompensationFailureInfo),
  cancelled: z.boolean(),
  /**
   * Who cancelled, retried a compensation, approved or rejected, when and why: oldest first, the last 50
   * (`MAX_OPERATOR_ACTIONS`). Reads are not recorded.
   */
  operatorActions: z.array(OperatorAction),
  /**
   * The version of its type's stored configuration the saga runs with, read at its start (docs/sagas.md, "Stored
   * configuration"); null when none was stored then, or for a saga started before stored configuration.
   */
  configVersion: z.number().int().min(1).nullable(),
});
export type SagaState = z.infer<typeof SagaState>;

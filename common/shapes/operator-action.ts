import { z } from 'zod';
import {
  ActorKind as ActorKinds,
  MAX_ACTOR_NAME,
  MAX_REASON,
  OperatorActionName as ActionNames,
} from '../operator-action';
import { Timestamp } from './primitives';

/**
 * What an operator did to a saga, as its state records it (`SagaState.operatorActions`): who (the authenticated
 * principal's name and kind), when (workflow time) and, optionally, why. The constants and the limits:
 * `common/operator-action.ts` (workflows import those, never this module).
 */

export const OperatorActionName = z.enum(ActionNames);
export const ActorKind = z.enum(ActorKinds);

/**
 * Who acts, as the API sends it with the signal or update that carries the action (and the CLI may, in the same
 * shape). Every field is optional on the wire: a signal sent without it (older clients, `temporal workflow
 * signal` with no input) is recorded as by `unknown`.
 */
export const OperatorActor = z.object({
  by: z.string().max(MAX_ACTOR_NAME).optional(),
  byKind: ActorKind.optional(),
  reason: z.string().max(MAX_REASON).optional(),
});
export type OperatorActor = z.infer<typeof OperatorActor>;

/**
 * The argument of `retryCompensation` and `skipCompensation`: who acts and why, and optionally which failed
 * compensation, by the step it undoes (`compensationFailures[].step`); without it, every failed compensation the
 * saga waits on.
 */
export const CompensationActor = OperatorActor.extend({ step: z.string().max(MAX_ACTOR_NAME).optional() });
export type CompensationActor = z.infer<typeof CompensationActor>;

export const OperatorAction = z.object({
  action: OperatorActionName,
  /** The API key's name or the JWT's subject; `anonymous` with authentication off; `unknown` when not sent. */
  by: z.string().max(MAX_ACTOR_NAME),
  byKind: ActorKind,
  /** Workflow time at which the saga took the action in. */
  at: Timestamp,
  /** The reason the operator gave, at most 500 characters, or null. */
  reason: z.string().max(MAX_REASON).nullable(),
  /** For a skipped compensation: the step it undoes and the compensation skipped. */
  step: z.string().optional(),
  compensation: z.string().optional(),
});
export type OperatorAction = z.infer<typeof OperatorAction>;

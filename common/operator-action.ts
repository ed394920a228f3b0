/**
 * Operator actions on a saga (cancel, retry-compensation, skip-compensation, approve, reject), recorded in its state: the names, the
 * kinds of actor and the limits. The shapes are zod schemas in `shapes/operator-action.ts`; this module stays free
 * of zod, because the workflows import its values.
 */

export const OperatorActionName = {
  cancel: 'cancel',
  retryCompensation: 'retry-compensation',
  skipCompensation: 'skip-compensation',
  approve: 'approve',
  reject: 'reject',
} as const;
export type OperatorActionName = (typeof OperatorActionName)[keyof typeof OperatorActionName];

/** `api-key` and `jwt`: the API's principal; `anonymous`: the API with API_AUTH=off; `unknown`: no actor sent. */
export const ActorKind = { apiKey: 'api-key', jwt: 'jwt', anonymous: 'anonymous', unknown: 'unknown' } as const;
export type ActorKind = (typeof ActorKind)[keyof typeof ActorKind];

/** The state keeps the last this many actions (the history keeps every signal and update). */
export const MAX_OPERATOR_ACTIONS = 50;
export const MAX_ACTOR_NAME = 200;
/** Longest reason, in characters as sent (the API refuses longer ones; the workflow cuts what reaches it longer). */
export const MAX_REASON = 500;

export type { CompensationActor, OperatorAction, OperatorActor } from './shapes/operator-action';

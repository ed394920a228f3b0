/**
 * The audit trail of a saga's operator actions (`state.operatorActions`): who cancelled, retried or skipped a
 * compensation (a skip also names the step and the compensation), approved or rejected, when (workflow time) and why. Recording only changes the state the `getState` query
 * answers: it issues no command, so histories recorded before it replay unchanged. The signal or update that
 * carried the action stays in the history with its argument (encrypted, decoded through the codec in the Web UI).
 */
import {
  ActorKind,
  MAX_ACTOR_NAME,
  MAX_OPERATOR_ACTIONS,
  MAX_REASON,
  type OperatorAction,
  type OperatorActionName,
} from '../../common/operator-action';
import type { SagaState } from '../../common/saga-state';

const actorKinds: readonly string[] = Object.values(ActorKind);

/**
 * The actor an argument names. A signal cannot be refused, so whatever reaches the workflow (the CLI sends any
 * JSON, older clients nothing) is read defensively: missing or malformed fields become `unknown`, over-long
 * texts are cut to the limits the API enforces.
 */
export function actorOf(arg: unknown): Pick<OperatorAction, 'by' | 'byKind' | 'reason'> {
  const { by, byKind, reason } = (typeof arg === 'object' && arg !== null ? arg : {}) as Record<string, unknown>;
  const named = typeof by === 'string' && by !== '';
  return {
    by: named ? by.slice(0, MAX_ACTOR_NAME) : ActorKind.unknown,
    byKind:
      named && typeof byKind === 'string' && actorKinds.includes(byKind) ? (byKind as ActorKind) : ActorKind.unknown,
    reason: typeof reason === 'string' && reason !== '' ? reason.slice(0, MAX_REASON) : null,
  };
}

/** Appends the action, stamped with the workflow's time, keeping the last `MAX_OPERATOR_ACTIONS`. */
export function recordOperatorAction(
  state: SagaState,
  action: OperatorActionName,
  arg: unknown,
  on?: { step: string; compensation: string },
): OperatorAction {
  const recorded: OperatorAction = { action, ...actorOf(arg), at: new Date().toISOString(), ...on };
  state.operatorActions.push(recorded);
  if (state.operatorActions.length > MAX_OPERATOR_ACTIONS) {
    state.operatorActions.splice(0, state.operatorActions.length - MAX_OPERATOR_ACTIONS);
  }
  return recorded;
}

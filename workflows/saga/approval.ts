/**
 * A person's approval with a deadline, for any saga whose definition holds an `approval` wait (the transport order's
 * `awaitDecision`). The decision comes as the `decide` update (its validator refuses a decision when none is pending
 * or the other one was taken, so two people deciding at once get one yes and one no) or, for older clients, as the
 * `approve`/`reject` signals (first one wins, the sender is not told). A decision that arrives before the wait
 * starts is kept and applies when it starts.
 *
 * Registering the handlers and waiting issue exactly the commands the transport order issued before it was a
 * definition (one timer, from `condition` with a timeout): its histories replay unchanged.
 */
import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import {
  ApprovalDecision,
  approveSignal,
  DECISION_REFUSED,
  decideUpdate,
  rejectSignal,
  type ApprovalFields,
  type PersonDecision,
} from '../../common/approval';
import { BusinessFailure } from '../../common/failures';
import { OperatorActionName, type OperatorActor } from '../../common/operator-action';
import type { SagaState } from '../../common/saga-state';
import type { Saga } from './compensation-stack';

export interface Approval {
  /** Waits for the decision until `timeoutMs`; approval returns, a rejection or the deadline throws. */
  wait(timeoutMs: number): Promise<PersonDecision>;
}

/**
 * Sets the approval's handlers on the running saga (call once, before the saga's steps run). `step` names the wait
 * in logs; `subject` is what the messages call the saga ("Transport order 42"); `sagaId` is answered by `decide`.
 */
export function registerApproval<S extends SagaState & ApprovalFields>(
  saga: Saga<S>,
  { step, subject, sagaId }: { step: string; subject: string; sagaId: string },
): Approval {
  const state = saga.state;
  // The first decision wins. The decision taken is recorded in `operatorActions` with its actor; one that changes
  // nothing (a repeat, a later one) is not.
  const take = (decision: PersonDecision, arg: OperatorActor | undefined): void => {
    if (state.decision !== null) return;
    state.decision = decision;
    const rejected = decision === ApprovalDecision.REJECTED;
    if (rejected) state.decisionReason = arg?.reason ?? null;
    log.info('Decision taken', { step, decision }); // not who: that is in the state
    saga.recordOperatorAction(rejected ? OperatorActionName.reject : OperatorActionName.approve, arg);
  };
  setHandler(approveSignal, (arg) => take(ApprovalDecision.APPROVED, arg));
  setHandler(rejectSignal, (arg) => take(ApprovalDecision.REJECTED, arg));
  // Registering an update handler adds no command: histories recorded before it replay unchanged.
  setHandler(
    decideUpdate,
    ({ decision, ...actor }) => {
      if (state.decision === null) saga.answeringUpdate(); // a repeat changes nothing and appends nothing
      take(decision, actor);
      return { orderId: sagaId, decision };
    },
    {
      validator: ({ decision }) => {
        const refuse = (message: string) => ApplicationFailure.create({ message, type: DECISION_REFUSED });
        if (decision !== ApprovalDecision.APPROVED && decision !== ApprovalDecision.REJECTED) {
          throw refuse(`decision must be ${ApprovalDecision.APPROVED} or ${ApprovalDecision.REJECTED}`);
        }
        if (state.decision === decision) return; // the same decision again: accepted, changes nothing
        if (state.decision !== null) throw refuse(`${subject} was already decided: ${state.decision}`);
        if (state.pendingDecision === null) {
          throw refuse(`${subject} is not waiting for a decision (status ${state.status})`);
        }
      },
    },
  );

  return {
    async wait(timeoutMs) {
      state.pendingDecision = { deadline: new Date(Date.now() + timeoutMs).toISOString() };
      log.info('Waiting for a decision: approve or reject', { step, deadline: state.pendingDecision.deadline });
      try {
        if (!(await condition(() => state.decision !== null, timeoutMs))) {
          state.decision = ApprovalDecision.TIMED_OUT;
          log.info('No decision before the deadline', { step });
        }
      } finally {
        state.pendingDecision = null;
      }
      return outcome(state, subject);
    },
  };
}

/** Approval passes; a rejection or the deadline passing is a business failure the saga compensates. */
function outcome(state: ApprovalFields, subject: string): PersonDecision {
  const { decision, decisionReason } = state;
  if (decision === ApprovalDecision.REJECTED) {
    throw ApplicationFailure.nonRetryable(
      `${subject} was rejected${decisionReason ? `: ${decisionReason}` : ''}`,
      BusinessFailure.Rejected,
    );
  }
  if (decision !== ApprovalDecision.APPROVED) {
    const lowered = subject.charAt(0).toLowerCase() + subject.slice(1);
    throw ApplicationFailure.nonRetryable(
      `No decision on ${lowered} before its deadline`,
      BusinessFailure.DecisionTimedOut,
    );
  }
  return decision;
}

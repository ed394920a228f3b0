import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OperatorActor } from './operator-action';

/**
 * A person's approval with a deadline, the wait a saga definition can hold (`approval` in
 * `workflows/saga/definition.ts`, run by `workflows/saga/approval.ts`): its signals, its update and its decisions.
 * The transport order's decision is one (`common/transport.ts` re-exports these under its names).
 */

/** Sent by a person: accept (the transport: its vehicle, date and price). Optional: who and why. */
export const approveSignal = defineSignal<[OperatorActor?]>('approve');
/** Sent by a person: refuse; the saga compensates. Optional: who and why. */
export const rejectSignal = defineSignal<[OperatorActor?]>('reject');

export const ApprovalDecision = { APPROVED: 'APPROVED', REJECTED: 'REJECTED', TIMED_OUT: 'TIMED_OUT' } as const;
export type ApprovalDecision = (typeof ApprovalDecision)[keyof typeof ApprovalDecision];

/** A decision a person can take: approve or reject. */
export type PersonDecision = typeof ApprovalDecision.APPROVED | typeof ApprovalDecision.REJECTED;

/** The decision and who takes it (`by`, `byKind`: recorded in `operatorActions`; missing: `unknown`). */
export interface DecideArgs extends OperatorActor {
  decision: PersonDecision;
  /** Why; with `REJECTED` it is also the state's `decisionReason`. */
  reason?: string;
}

/** The answer to `decide`: the saga's id (a transport order's `orderId`) and the decision taken. */
export interface DecideResult {
  orderId: string;
  decision: PersonDecision;
}

/**
 * Update: take the decision, atomically. Its validator refuses (failure type `DECISION_REFUSED`, nothing
 * written to history) when no decision is pending or the other decision was already taken; the same decision
 * again is accepted and changes nothing. Prefer it to the `approve`/`reject` signals, which cannot answer.
 */
export const decideUpdate = defineUpdate<DecideResult, [DecideArgs]>('decide');

/** Failure type of a `decide` update refused by its validator. */
export const DECISION_REFUSED = 'DecisionRefused';

// The state fields of an approval are a zod schema in `shapes/approval.ts`; this module stays free of zod.
export type { ApprovalFields } from './shapes/approval';

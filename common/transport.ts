import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OperatorActor } from './operator-action';

/** Workflow type, id scheme, signals, update and input of the transport order saga. */
export const TRANSPORT_ORDER = 'makeTransportOrder';

export function transportWorkflowId(orderId: string): string {
  return `transport-${orderId}`;
}

/** How long a transport order waits for `approve` or `reject` unless its input says otherwise. */
export const DEFAULT_DECISION_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** Priority recorded with the vehicle reservation, for dispatch. */
export const TransportPriority = { HIGH: 'HIGH', NORMAL: 'NORMAL', LOW: 'LOW' } as const;
export type TransportPriority = (typeof TransportPriority)[keyof typeof TransportPriority];

// The input and state are zod schemas in `shapes/transport.ts`; this module stays free of zod (the workflows
// import it).
export type { TransportOrderInput, TransportOrderState } from './shapes/transport';

/** Sent by a person: accept the planned transport (vehicle, date, price). Optional: who and why. */
export const approveSignal = defineSignal<[OperatorActor?]>('approve');
/** Sent by a person: refuse the planned transport; the saga compensates. Optional: who and why. */
export const rejectSignal = defineSignal<[OperatorActor?]>('reject');

export const TransportDecision = { APPROVED: 'APPROVED', REJECTED: 'REJECTED', TIMED_OUT: 'TIMED_OUT' } as const;
export type TransportDecision = (typeof TransportDecision)[keyof typeof TransportDecision];

/** A decision a person can take: approve or reject. */
export type PersonDecision = typeof TransportDecision.APPROVED | typeof TransportDecision.REJECTED;

/** The decision and who takes it (`by`, `byKind`: recorded in `operatorActions`; missing: `unknown`). */
export interface DecideArgs extends OperatorActor {
  decision: PersonDecision;
  /** Why; with `REJECTED` it is also the state's `decisionReason`. */
  reason?: string;
}

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

/** The step names of the transport order saga, in the order they run. */
export const TransportStep = {
  createTransportOrder: 'createTransportOrder',
  /** One step per parcel: `addParcel:<parcelId>`. */
  addParcel: 'addParcel',
  chooseVehicle: 'chooseVehicle',
  reserveVehicleResource: 'reserveVehicleResource',
  assignVehicle: 'assignVehicle',
  awaitDecision: 'awaitDecision',
} as const;

export function addParcelStep(parcelId: string): string {
  return `${TransportStep.addParcel}:${parcelId}`;
}

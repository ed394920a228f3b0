import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SagaState } from './saga-state';

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

export interface TransportOrderInput {
  orderId: string;
  customerId: string;
  /** Distinct parcel ids, added to the order in parallel. */
  parcelIds: string[];
  /** Milliseconds to wait for a decision once the vehicle is assigned; default 24 hours. */
  decisionTimeoutMs?: number;
  /** Priority of the vehicle reservation; default `NORMAL`. */
  priority?: TransportPriority;
}

/** Sent by a person: accept the planned transport (vehicle, date, price). */
export const approveSignal = defineSignal('approve');
/** Sent by a person: refuse the planned transport; the saga compensates. */
export const rejectSignal = defineSignal<[{ reason?: string }?]>('reject');

export const TransportDecision = { APPROVED: 'APPROVED', REJECTED: 'REJECTED', TIMED_OUT: 'TIMED_OUT' } as const;
export type TransportDecision = (typeof TransportDecision)[keyof typeof TransportDecision];

/** A decision a person can take: approve or reject. */
export type PersonDecision = typeof TransportDecision.APPROVED | typeof TransportDecision.REJECTED;

export interface DecideArgs {
  decision: PersonDecision;
  /** With `REJECTED` only: why. */
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

export interface TransportOrderState extends SagaState {
  orderId: string;
  customerId: string;
  parcelIds: string[];
  /** Sum of the parcels' weights, known once every parcel is added. */
  totalWeightKg: number | null;
  vehicleId: string | null;
  /** Price of the service in currency units, known once a vehicle is chosen. */
  price: number | null;
  /** `YYYY-MM-DD` the vehicle is reserved for. */
  reservedDate: string | null;
  priority: TransportPriority;
  /** Set while the saga waits for `approve` or `reject`; `deadline` is an ISO timestamp. */
  pendingDecision: { deadline: string } | null;
  decision: TransportDecision | null;
  /** The reason given with `reject`, if any. */
  decisionReason: string | null;
}

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

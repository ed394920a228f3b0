import { ApplicationFailure } from '@temporalio/common';

/**
 * Failure types shared by activities (which throw them), workflows (which read them from
 * `ActivityFailure.cause`) and the API (which reports them).
 *
 * Business failures are thrown as non-retryable `ApplicationFailure`s with one of these types: the
 * saga does not retry them, it compensates. Anything else is an infrastructure failure and retries
 * with backoff.
 */
export const BusinessFailure = {
  UnknownCustomer: 'UnknownCustomer',
  InsufficientCredit: 'InsufficientCredit',
  UnknownProduct: 'UnknownProduct',
  OutOfStock: 'OutOfStock',
  PaymentDeclined: 'PaymentDeclined',
  ShipmentRejected: 'ShipmentRejected',
  NoVehicleAvailable: 'NoVehicleAvailable',
  /** A transport order names a parcel that does not exist. */
  UnknownParcel: 'UnknownParcel',
  /** A parcel is already on another transport order. */
  ParcelUnavailable: 'ParcelUnavailable',
  /** A person rejected the transport order. */
  Rejected: 'Rejected',
  /** No decision arrived before the transport order's deadline. */
  DecisionTimedOut: 'DecisionTimedOut',
} as const;
export type BusinessFailureType = (typeof BusinessFailure)[keyof typeof BusinessFailure];

/** Failure types the saga engine records itself. */
export const SagaFailure = {
  /** The saga was cancelled (API, CLI or Web UI) and compensated. */
  Cancelled: 'Cancelled',
  /** A step kept failing with an infrastructure error until its retries ran out. */
  RetriesExhausted: 'RetriesExhausted',
  /** A step did not complete within its timeout. */
  Timeout: 'Timeout',
  /**
   * How a compensated saga closes its workflow (since `patched('compensated-closes-failed')`): a non-retryable
   * failure whose message names the failed step and why, and whose details carry the final state, so that the Web
   * UI and `temporal workflow list` show it as Failed, not Completed. Read the state with `sagaResult`
   * (common/saga-result.ts) whether the run completed or closed this way.
   */
  Compensated: 'SagaCompensated',
} as const;

/**
 * The business failures each participant operation (activity) can raise: the one declaration of them. Activities
 * throw them only through `participantFailure(activity, type, …)`, whose type refuses a failure its activity does
 * not declare (and `test/activities/declared-failures.test.ts` that any other non-retryable throw exists), and the
 * saga definitions' validation reads it: a retriable step, a compensation and what runs after a saga completed must
 * name an activity that declares none (`workflows/definitions/validate.ts`). `activities/index.ts` checks at build
 * that every registered activity has an entry and every entry is an activity.
 */
export const ParticipantFailures = {
  priceOrder: [BusinessFailure.UnknownProduct],
  reserveCredit: [BusinessFailure.UnknownCustomer, BusinessFailure.InsufficientCredit],
  releaseCredit: [],
  reserveInventory: [BusinessFailure.UnknownProduct, BusinessFailure.OutOfStock],
  releaseInventory: [],
  processPayment: [BusinessFailure.PaymentDeclined],
  refundPayment: [],
  createShipment: [BusinessFailure.ShipmentRejected],
  cancelShipment: [],
  // The carrier over the broker: the reply carries the carrier's business failure (workers/carrier-replies.ts).
  chooseCarrier: [],
  createShipmentByCommand: [BusinessFailure.ShipmentRejected],
  cancelShipmentByCommand: [],
  reserveVehicle: [BusinessFailure.NoVehicleAvailable],
  releaseVehicle: [],
  createTransportOrder: [],
  cancelTransportOrder: [],
  addParcelToTransport: [BusinessFailure.UnknownParcel, BusinessFailure.ParcelUnavailable],
  removeParcelFromTransport: [],
  chooseVehicle: [BusinessFailure.NoVehicleAvailable],
  reserveVehicleResource: [BusinessFailure.NoVehicleAvailable],
  releaseVehicleResource: [],
  assignVehicle: [],
  unassignVehicle: [],
  grantLoyaltyDiscount: [],
  recordCompletedOrder: [],
  appendDomainEvents: [],
  // The saga type's stored configuration, read at a saga's start (a start choice).
  readSagaConfig: [],
} as const satisfies Record<string, readonly BusinessFailureType[]>;
export type ParticipantName = keyof typeof ParticipantFailures;
/** The business failures `A` declares. */
export type DeclaredFailure<A extends ParticipantName> = (typeof ParticipantFailures)[A][number];

/**
 * The non-retryable failure an activity throws for a business outcome: `type` must be one it declares in
 * `ParticipantFailures` (a type error otherwise); `details` travel with it to the workflow.
 */
export function participantFailure<A extends ParticipantName>(
  _activity: A,
  type: DeclaredFailure<A>,
  message: string,
  ...details: unknown[]
): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type, ...details);
}

/** The detail of an `OutOfStock` failure: every sku that could not be reserved, not only the first. */
export interface OutOfStockDetail {
  skus: string[];
}

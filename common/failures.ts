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
} as const;

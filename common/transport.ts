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

// The decision is an approval (`approval.ts`), under the names the transport order has always used.
export {
  approveSignal,
  rejectSignal,
  ApprovalDecision as TransportDecision,
  decideUpdate,
  DECISION_REFUSED,
  type DecideArgs,
  type DecideResult,
  type PersonDecision,
} from './approval';

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

import { z } from 'zod';
import { TransportDecision as Decisions, TransportPriority as Priorities } from '../transport';
import { Id, Timestamp } from './primitives';
import { SagaState } from './saga-state';

/** The transport order saga's input and state (its workflow type, id scheme, update and steps: `common/transport.ts`). */

export const TransportPriority = z.enum(Priorities);
export const TransportDecision = z.enum(Decisions);

export const TransportOrderInput = z.object({
  orderId: Id,
  customerId: Id,
  /** Distinct parcel ids, added to the order in parallel. */
  parcelIds: z.array(Id),
  /** Milliseconds to wait for a decision once the vehicle is assigned; default 24 hours. */
  decisionTimeoutMs: z.number().int().min(1).optional(),
  /** Priority of the vehicle reservation; default `NORMAL`. */
  priority: TransportPriority.optional(),
});
export type TransportOrderInput = z.infer<typeof TransportOrderInput>;

export const TransportOrderState = SagaState.extend({
  orderId: z.string(),
  customerId: z.string(),
  parcelIds: z.array(z.string()),
  /** Sum of the parcels' weights, known once every parcel is added. */
  totalWeightKg: z.number().nullable(),
  vehicleId: z.string().nullable(),
  /** Price of the service in currency units, known once a vehicle is chosen. */
  price: z.number().nullable(),
  /** `YYYY-MM-DD` the vehicle is reserved for. */
  reservedDate: z.string().nullable(),
  priority: TransportPriority,
  /** Set while the saga waits for `approve` or `reject`; `deadline` is an ISO timestamp. */
  pendingDecision: z.object({ deadline: Timestamp }).nullable(),
  decision: TransportDecision.nullable(),
  /** The reason given with `reject`, if any. */
  decisionReason: z.string().nullable(),
});
export type TransportOrderState = z.infer<typeof TransportOrderState>;

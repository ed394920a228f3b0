import { z } from 'zod';
import { TransportPriority as Priorities } from '../transport';
import { ApprovalDecision, ApprovalFields } from './approval';
import { Id } from './primitives';
import { SagaState } from './saga-state';

/** The transport order saga's input and state (its workflow type, id scheme, update and steps: `common/transport.ts`). */

export const TransportPriority = z.enum(Priorities);
export const TransportDecision = ApprovalDecision;

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
  ...ApprovalFields.shape,
});
export type TransportOrderState = z.infer<typeof TransportOrderState>;

import { z } from 'zod';
import { Id, Kg, Money, Name } from '../common/shapes/primitives';
import { TransportDecision, TransportPriority } from '../common/shapes/transport';
import { OperatorActionBody, SagaStarted } from './schemas';

export const CreateParcel = z.strictObject({ id: Id.optional(), weightKg: Kg(100_000) });

export const CreateTransportVehicle = z.strictObject({
  id: Id.optional(),
  name: Name,
  capacityKg: Kg(1_000_000),
  pricePerService: Money,
});

export const MAX_DECISION_TIMEOUT_SECONDS = 30 * 24 * 60 * 60;

export const CreateTransportOrder = z.strictObject({
  orderId: Id.optional(),
  customerId: Id,
  parcelIds: z
    .array(Id)
    .min(1, 'must have at least one parcel')
    .max(50, 'must have at most 50 parcels')
    .refine((ids) => new Set(ids).size === ids.length, 'must not name a parcel twice')
    .meta({ uniqueItems: true }),
  /** How long to wait for approve/reject once the vehicle is assigned; default 24 hours. */
  decisionTimeoutSeconds: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_DECISION_TIMEOUT_SECONDS, `must be at most ${MAX_DECISION_TIMEOUT_SECONDS} (30 days)`)
    .optional(),
  priority: TransportPriority.optional(),
});
export type CreateTransportOrder = z.infer<typeof CreateTransportOrder>;

/** `approve` and `reject` take an optional reason, as every operator action does; the body may be left out. */
export const RejectBody = OperatorActionBody;
export const ApproveBody = OperatorActionBody;

export const TransportOrderIdParam = z.strictObject({ orderId: Id });
export const ParcelIdParam = z.strictObject({ id: Id });
export const TransportVehicleIdParam = z.strictObject({ id: Id });

export const TransportOrderStarted = SagaStarted;

export const TransportDecisionAccepted = z.object({
  orderId: z.string(),
  decision: z.enum([TransportDecision.enum.APPROVED, TransportDecision.enum.REJECTED]),
});

import { z } from 'zod';
import { TransportDecision, TransportPriority } from '../common/transport';
import { SagaStateResponse } from './schemas';
import { Id, Money, Name } from './validation';

/** Kilograms: positive, at most three decimals (grams). */
const Kg = (max: number) =>
  z
    .number()
    .finite()
    .gt(0, 'must be more than 0')
    .max(max, `must be at most ${max}`)
    .refine((n) => Math.abs(Math.round(n * 1000) - n * 1000) < 1e-6, 'must have at most three decimals');

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
    .refine((ids) => new Set(ids).size === ids.length, 'must not name a parcel twice'),
  /** How long to wait for approve/reject once the vehicle is assigned; default 24 hours. */
  decisionTimeoutSeconds: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_DECISION_TIMEOUT_SECONDS, `must be at most ${MAX_DECISION_TIMEOUT_SECONDS} (30 days)`)
    .optional(),
  priority: z.enum(Object.values(TransportPriority)).optional(),
});
export type CreateTransportOrder = z.infer<typeof CreateTransportOrder>;

/** `reject` takes an optional reason; `approve` takes no body (an empty object is accepted). */
export const RejectBody = z.strictObject({
  reason: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters').optional(),
});
export const ApproveBody = z.strictObject({});

export const TransportOrderIdParam = z.strictObject({ orderId: Id });
export const ParcelIdParam = z.strictObject({ id: Id });
export const TransportVehicleIdParam = z.strictObject({ id: Id });

// ---------------------------------------------------------------------------------------------------------------
// Responses (documented in the OpenAPI document and checked by the contract tests)
// ---------------------------------------------------------------------------------------------------------------

const Priority = z.enum(Object.values(TransportPriority));
const Decision = z.enum(Object.values(TransportDecision));

export const Parcel = z.object({
  id: z.string(),
  weightKg: z.number(),
  /** The transport order the parcel is on, or null. */
  transportOrderId: z.string().nullable(),
});

export const TransportVehicle = z.object({
  id: z.string(),
  name: z.string(),
  capacityKg: z.number(),
  pricePerService: z.number(),
  /** Reserved dates (`YYYY-MM-DD`), earliest first. */
  reservations: z.array(z.object({ date: z.string(), orderId: z.string(), priority: Priority })),
});

export const TransportOrderStarted = z.object({
  orderId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  status: z.literal('RUNNING'),
});

export const TransportOrderStateResponse = SagaStateResponse.extend({
  orderId: z.string(),
  customerId: z.string(),
  parcelIds: z.array(z.string()),
  totalWeightKg: z.number().nullable(),
  vehicleId: z.string().nullable(),
  price: z.number().nullable(),
  reservedDate: z.string().nullable(),
  priority: Priority,
  /** Set while the saga waits for approve or reject; `deadline` is an ISO timestamp. */
  pendingDecision: z.object({ deadline: z.string() }).nullable(),
  decision: Decision.nullable(),
  decisionReason: z.string().nullable(),
});

export const TransportDecisionAccepted = z.object({
  orderId: z.string(),
  decision: z.enum([TransportDecision.APPROVED, TransportDecision.REJECTED]),
});

// ---------------------------------------------------------------------------------------------------------------
// Customer loyalty
// ---------------------------------------------------------------------------------------------------------------

export const Loyalty = z.object({
  customerId: z.string(),
  completedOrders: z.number().int(),
  discounts: z.array(
    z.object({
      number: z.number().int(),
      /** The completed-order count that earned it (10, 20, ...). */
      orderCount: z.number().int(),
      percent: z.number(),
      /** `loyalty-<customerId>:discount-<number>` */
      id: z.string(),
      grantedAt: z.string(),
    }),
  ),
});

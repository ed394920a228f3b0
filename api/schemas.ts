import { z } from 'zod';
import { Count, Id, IsoDate, Money, Name } from './validation';

export const CreateCustomer = z.strictObject({ id: Id.optional(), name: Name, creditLimit: Money });
export const CreateProduct = z.strictObject({ sku: Id, name: Name, price: Money, stock: Count(1_000_000_000) });
export const CreateVehicle = z.strictObject({
  id: Id.optional(),
  name: Name,
  capacityPerDay: Count(100_000).min(1, 'must be at least 1'),
});

const Text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const ShippingAddress = z.strictObject({
  line1: Text(200),
  city: Text(100),
  postalCode: Text(20),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code')
    .transform((c) => c.toUpperCase()),
});

export const OrderItem = z.strictObject({
  sku: Id,
  quantity: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000'),
});

export const CreateOrder = z.strictObject({
  orderId: Id.optional(),
  customerId: Id,
  items: z.array(OrderItem).min(1, 'must have at least one item').max(100, 'must have at most 100 items'),
  payment: z.strictObject({ token: Text(200) }),
  shippingAddress: ShippingAddress,
  deliveryDate: IsoDate,
});
export type CreateOrder = z.infer<typeof CreateOrder>;

export const IdParam = z.strictObject({ id: Id });
export const SkuParam = z.strictObject({ sku: Id });
export const OrderIdParam = z.strictObject({ orderId: Id });

// ---------------------------------------------------------------------------------------------------------------
// Orders: listing, idempotency
// ---------------------------------------------------------------------------------------------------------------

export const SagaStatusEnum = z.enum(['RUNNING', 'COMPLETED', 'COMPENSATING', 'COMPENSATED', 'FAILED']);

export const ListOrdersQuery = z.strictObject({
  status: SagaStatusEnum.optional(),
  customerId: Id.optional(),
  pageSize: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number from 1 to 100')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
    .optional(),
  nextPageToken: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,4096}$/, 'must be a token returned by a previous page')
    .optional(),
});

/** `Idempotency-Key` header: printable, no spaces, at most 128 characters (a UUID fits). */
export const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 letters, digits, _ . : or -');

// ---------------------------------------------------------------------------------------------------------------
// Responses (documented in the OpenAPI document and checked by the contract tests)
// ---------------------------------------------------------------------------------------------------------------

export const Customer = z.object({
  id: z.string(),
  name: z.string(),
  creditLimit: z.number(),
  creditAvailable: z.number(),
});
export const Product = z.object({ sku: z.string(), name: z.string(), price: z.number(), stock: z.number().int() });
export const Vehicle = z.object({ id: z.string(), name: z.string(), capacityPerDay: z.number().int() });

export const OrderStarted = z.object({
  orderId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  status: z.literal('RUNNING'),
});

const StepStatusEnum = z.enum(['RUNNING', 'COMPLETED', 'FAILED', 'COMPENSATING', 'COMPENSATED', 'COMPENSATION_FAILED']);
const StepError = z.object({ type: z.string(), message: z.string() });

/** The fields every saga's state has (`SagaState` in `common/saga-state.ts`), whatever its shape. */
export const SagaStateResponse = z.object({
  status: SagaStatusEnum,
  steps: z.array(
    z.object({
      name: z.string(),
      status: StepStatusEnum,
      attempts: z.number().int(),
      startedAt: z.string(),
      completedAt: z.string().nullable(),
      compensation: z.string().nullable(),
      compensatedAt: z.string().nullable(),
      compensationAttempts: z.number().int(),
      error: StepError.nullable(),
    }),
  ),
  failure: z.object({ step: z.string().nullable(), type: z.string(), message: z.string() }).nullable(),
  compensationFailure: z
    .object({ step: z.string(), compensation: z.string(), type: z.string(), message: z.string() })
    .nullable(),
  cancelled: z.boolean(),
});

export const OrderStateResponse = SagaStateResponse.extend({
  orderId: z.string(),
  customerId: z.string(),
  total: z.number().nullable(),
});

export const OrderSummary = z.object({
  orderId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  customerId: z.string().nullable(),
  /** The saga's own status (search attribute `SagaStatus`). */
  status: SagaStatusEnum.nullable(),
  total: z.number().nullable(),
  /** Temporal's status of the run: RUNNING, COMPLETED, CANCELLED, FAILED, TERMINATED, ... */
  executionStatus: z.string(),
  startTime: z.string(),
  closeTime: z.string().nullable(),
});

export const OrderList = z.object({
  orders: z.array(OrderSummary),
  /** Pass as `nextPageToken` to get the next page; null on the last page. */
  nextPageToken: z.string().nullable(),
});

export const CancelAccepted = z.object({
  orderId: z.string(),
  cancelRequested: z.literal(true),
  /** The saga's status when the cancellation was requested. */
  status: SagaStatusEnum,
});

export const RetryCompensationAccepted = z.object({
  orderId: z.string(),
  retryRequested: z.literal(true),
  /** The failed compensation the saga retries first. */
  compensation: z.string(),
  /** The step that compensation undoes. */
  step: z.string(),
});

export const Health = z.object({ status: z.literal('ok') });
export const Ready = z.object({
  status: z.literal('ready'),
  checks: z.object({ temporal: z.literal('ok'), mongodb: z.literal('ok') }),
});

/** RFC 9457 problem details, with our extension members. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  checks: z.record(z.string(), z.enum(['ok', 'unavailable'])).optional(),
});

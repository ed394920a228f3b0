import { z } from 'zod';
import { OrderSagaInput } from '../common/shapes/order';
import { MAX_REASON } from '../common/operator-action';
import { Count, Id, Money, Name, Text } from '../common/shapes/primitives';
import { SagaStatus } from '../common/shapes/saga-state';

/**
 * The API's own request and response shapes. The shapes it shares with the sagas and the participants (saga
 * states, order items, addresses, views) are the zod schemas of `common/shapes/`, used here as they are.
 */

export const CreateCustomer = z.strictObject({ id: Id.optional(), name: Name, creditLimit: Money });
export const CreateProduct = z.strictObject({ sku: Id, name: Name, price: Money, stock: Count(1_000_000_000) });
export const CreateVehicle = z.strictObject({
  id: Id.optional(),
  name: Name,
  capacityPerDay: Count(100_000).min(1, 'must be at least 1'),
});

/** The order saga's input; without `orderId` one is generated. */
export const CreateOrder = OrderSagaInput.extend({ orderId: Id.optional() });
export type CreateOrder = z.infer<typeof CreateOrder>;

export const IdParam = z.strictObject({ id: Id });
export const SkuParam = z.strictObject({ sku: Id });
export const OrderIdParam = z.strictObject({ orderId: Id });

// ---------------------------------------------------------------------------------------------------------------
// Orders: listing, idempotency
// ---------------------------------------------------------------------------------------------------------------

export const ListOrdersQuery = z.strictObject({
  status: SagaStatus.optional(),
  customerId: Id.optional(),
  /** A query value is text: a whole number 1-100 written in digits, documented as the integer it means. */
  pageSize: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'must be a whole number from 1 to 100')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
    .optional()
    .meta({ override: { type: 'integer', minimum: 1, maximum: 100 } }),
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

/** The answer to a saga's start, whatever its type. */
export const SagaStarted = z.object({
  orderId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  status: z.literal('RUNNING'),
});
export const OrderStarted = SagaStarted;

export const OrderSummary = z.object({
  orderId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  customerId: z.string().nullable(),
  /** The saga's own status (search attribute `SagaStatus`). */
  status: SagaStatus.nullable(),
  total: z.number().nullable(),
  /** Temporal's status of the run: RUNNING, COMPLETED, CANCELLED, FAILED, TERMINATED, ... */
  executionStatus: z.string(),
  startTime: z.string(),
  closeTime: z.string().nullable(),
});

export const OrderList = z.object({
  orders: z.array(OrderSummary),
  /** How many sagas match the filters, over all pages (the read model's count). */
  totalCount: z.number().int().min(0),
  /** Pass as `nextPageToken` to get the next page; null on the last page. */
  nextPageToken: z.string().nullable(),
});

/**
 * The body of an operator action (cancel, retry-compensation, approve, reject): optional, and so is its `reason`,
 * recorded with the action in the saga's `operatorActions` (at most 500 characters as sent, trimmed).
 */
export const OperatorActionBody = z.strictObject({
  reason: Text(MAX_REASON)
    .optional()
    .meta({ description: "Why: recorded with the action in the saga's `operatorActions`" }),
});
export type OperatorActionBody = z.infer<typeof OperatorActionBody>;

/**
 * `POST /<sagas>/{orderId}/skip-compensation`: why the operator resolved the failed compensation by hand
 * (required, recorded in `operatorActions`), and which one when the saga waits on several (`step`, as in the
 * state's `compensationFailures`; left out: every one).
 */
export const SkipCompensationBody = z.strictObject({
  reason: Text(MAX_REASON).meta({
    description:
      "Why the compensation may be skipped (what was done by hand): recorded in the saga's `operatorActions`",
  }),
  step: Name.optional().meta({
    description: 'The step whose failed compensation to skip (`compensationFailures[].step`); left out: every one',
  }),
});
export type SkipCompensationBody = z.infer<typeof SkipCompensationBody>;

export const SkipCompensationAccepted = z.object({
  orderId: z.string(),
  skipRequested: z.literal(true),
  /** The failed compensations the saga skips, each with the step it undoes. */
  skipped: z.array(z.object({ step: z.string(), compensation: z.string() })),
});

export const CancelAccepted = z.object({
  orderId: z.string(),
  cancelRequested: z.literal(true),
  /** The saga's status when the cancellation was requested. */
  status: SagaStatus,
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

/** `GET /metrics`: Prometheus' text exposition format 0.0.4. */
export const MetricsText = z.string().meta({ description: "Prometheus' text exposition format, version 0.0.4" });

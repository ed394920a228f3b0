import { z } from 'zod';
import { DomainEventType as Types, SagaType as SagaTypes } from '../domain-events';
import { ActorKind, OperatorActionName } from './operator-action';
import { SagaCancellation } from './cancellation';
import { Timestamp } from './primitives';

/**
 * The domain events of a saga's stream, one schema per type and version (the catalogue: docs/events.md, generated
 * from these schemas). No personal data beyond ids: no address, payment token, operator name or free text (failure
 * messages and operator reasons can carry what a person wrote, so only the failure's type is kept).
 */

export const SagaType = z.enum(SagaTypes);

/** The fields every event has; `data` is the type's own. */
const envelope = <T extends string, D extends z.ZodType>(type: T, version: number, data: D, description: string) =>
  z
    .object({
      type: z.literal(type),
      version: z.literal(version),
      /** `<workflowId>#<sequence>`: unique, the same for every attempt of the append. */
      eventId: z.string(),
      sagaType: SagaType,
      /** The saga's business id (the order id). */
      sagaId: z.string(),
      /** 1, 2, 3 … per saga, without gaps. */
      sequence: z.number().int().min(1),
      /** Workflow time of the transition (ISO 8601). */
      occurredAt: Timestamp,
      data,
    })
    .meta({ id: `${type}.v${version}`, description });

const StepName = z.string().meta({ description: 'The step, as in the saga state (`priceOrder`, `addParcel:p1` …)' });
const FailureType = z.string().meta({ description: 'The failure type (`PaymentDeclined`, `Cancelled`, `Timeout` …)' });

export const SagaStarted = envelope(
  Types.SagaStarted,
  1,
  z.object({ customerId: z.string(), workflowId: z.string(), runId: z.string() }),
  'The saga started (first event of every stream).',
);
export const SagaTotalSet = envelope(
  Types.SagaTotalSet,
  1,
  z.object({ total: z.number() }),
  "The saga's amount is known: an order's total, a transport order's price (currency units).",
);
export const StepCompleted = envelope(
  Types.StepCompleted,
  1,
  z.object({
    step: StepName,
    compensation: z.string().nullable(),
    attempts: z.number().int(),
    startedAt: Timestamp,
  }),
  'A step completed (`occurredAt` is its completion).',
);
export const StepFailed = envelope(
  Types.StepFailed,
  1,
  z.object({
    step: StepName,
    compensation: z.string().nullable(),
    attempts: z.number().int(),
    startedAt: Timestamp,
    failureType: FailureType,
  }),
  'A step failed (a business failure, retries exhausted, a timeout or a cancellation while it ran).',
);
export const CompensationStarted = envelope(
  Types.CompensationStarted,
  1,
  z.object({ failureStep: z.string().nullable(), failureType: FailureType, cancelled: z.boolean() }),
  'The saga compensates: a step failed or it was cancelled (status COMPENSATING).',
);
export const CompensationCompleted = envelope(
  Types.CompensationCompleted,
  1,
  z.object({ step: StepName, compensation: z.string(), attempts: z.number().int() }),
  "A step's compensation completed.",
);
export const CompensationFailed = envelope(
  Types.CompensationFailed,
  1,
  z.object({ step: StepName, compensation: z.string(), attempts: z.number().int(), failureType: FailureType }),
  "A step's compensation gave up (its retries ran out).",
);
export const WaitingForOperator = envelope(
  Types.WaitingForOperator,
  1,
  z.object({ step: StepName, compensation: z.string() }),
  'The saga is FAILED and waits for an operator to retry the compensation named.',
);
export const OperatorResolved = envelope(
  Types.OperatorResolved,
  1,
  z.object({ step: StepName, compensation: z.string() }),
  "An operator's retryCompensation was honoured: the saga compensates again from the compensation named.",
);
export const CompensationSkipped = envelope(
  Types.CompensationSkipped,
  1,
  z.object({ step: StepName, compensation: z.string() }),
  "An operator's skipCompensation was honoured: the compensation named was resolved by hand, and the saga goes on " +
    "with the next one (who and why stay in the saga's state and history only).",
);
export const OperatorActionRecorded = envelope(
  Types.OperatorActionRecorded,
  1,
  z.object({ action: OperatorActionName, byKind: ActorKind }),
  'An operator action was recorded in the state (cancel, retry-compensation, skip-compensation, approve, reject); who and why stay ' +
    "in the saga's state and history only.",
);
export const SagaCompleted = envelope(Types.SagaCompleted, 1, z.object({}), 'The saga completed (last event).');
export const SagaCompensated = envelope(
  Types.SagaCompensated,
  1,
  z.object({ cancelled: z.boolean() }),
  'Every started step was undone (last event).',
);

export const OrderCancelled = envelope(
  Types.OrderCancelled,
  1,
  SagaCancellation,
  'The order was cancelled and every started step undone (just before `SagaCompensated`): who cancelled ' +
    '(`customer`, `operator`, or `system` when a step failed), whether a refund was issued, and every unavailable sku.',
);

export const DomainEvent = z.discriminatedUnion('type', [
  SagaStarted,
  SagaTotalSet,
  StepCompleted,
  StepFailed,
  CompensationStarted,
  CompensationCompleted,
  CompensationFailed,
  WaitingForOperator,
  OperatorResolved,
  CompensationSkipped,
  OperatorActionRecorded,
  SagaCompleted,
  SagaCompensated,
  OrderCancelled,
]);
export type DomainEvent = z.infer<typeof DomainEvent>;

/**
 * What one call of the append activity carries: events of one stream, in sequence order. Without `after` (sagas
 * before `patched('domain-events-per-task')`) the events are the whole stream so far. With it, they are the events
 * that follow sequence `after`, and every event up to `after` is stored (the saga appends one batch at a time).
 */
export const DomainEventBatch = z.object({
  workflowId: z.string(),
  events: z.array(DomainEvent),
  after: z.number().int().nonnegative().optional(),
});
export type DomainEventBatch = z.infer<typeof DomainEventBatch>;

/** The API's answer to `GET /<sagas>/{orderId}/domain-events`: the stream, oldest first. */
export const DomainEventList = z.array(DomainEvent);

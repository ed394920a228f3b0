/**
 * What the sagas' traces are made of (docs/operations.md, "Traces"): the names of the spans the compensation engine
 * opens inside the workflow (workflows/saga/tracing.ts) and the attributes it puts on them, and the one helper a
 * logger calls to put a line into its trace. Only `@opentelemetry/api`: without an SDK installed in the process (or
 * the tracing interceptors in the workflow sandbox) every call here is a no-op.
 */
import { context, isSpanContextValid, trace, type Span } from '@opentelemetry/api';

/** Span names: `SagaStep:<step>` around a step's participant call, `SagaCompensation:<compensation>` around an undo. */
export const sagaSpanName = {
  step: (step: string) => `SagaStep:${step}`,
  compensation: (compensation: string) => `SagaCompensation:${compensation}`,
} as const;

/** Span attributes of the sagas. Ids and names only: never a payload, an address or a payment token. */
export const sagaSpanAttributes = {
  /** The saga's type (workflow type), on the workflow's `RunWorkflow:<type>` span. */
  type: 'saga.type',
  /** The business id (the order id, the transport order id, the customer id of the loyalty workflow). */
  id: 'saga.id',
  /** The saga's last status in this run: COMPLETED, COMPENSATED, or FAILED (a compensation gave up), as its state says. */
  status: 'saga.status',
  /** The step a span belongs to (a step's span, and a compensation's: the step it undoes). */
  step: 'saga.step',
  /** `completed` or `failed` on a step's span; `compensated` or `failed` on a compensation's. */
  outcome: 'saga.step.outcome',
  /** The compensation's name, on its span and on the span of the step it undoes. */
  compensation: 'saga.compensation',
  /** The attempt that gave the step's answer (1 unless retried). */
  attempts: 'saga.step.attempts',
  /** Why a step or a compensation failed: the failure type (e.g. PaymentDeclined, RetriesExhausted), not its text. */
  failureType: 'saga.failure.type',
} as const;

/** The span's trace context as log fields (`trace_id`, `span_id`), or an empty object outside a (valid) span. */
export function traceFieldsOf(span: Span | undefined = trace.getSpan(context.active())): {
  trace_id?: string;
  span_id?: string;
} {
  const ctx = span?.spanContext();
  return ctx && isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
}

/**
 * The trace id of `span` (by default the active one: the request's, the activity's) for a log line's `trace_id`;
 * undefined when tracing is off or nothing is being traced.
 */
export function traceIdOf(span: Span | undefined = trace.getSpan(context.active())): string | undefined {
  return traceFieldsOf(span).trace_id;
}

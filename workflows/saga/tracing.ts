/**
 * The compensation engine's spans, made inside the workflow sandbox through `@opentelemetry/api`: with the worker's
 * tracing on, `@temporalio/interceptors-opentelemetry`'s workflow interceptors have registered a tracer provider in
 * the sandbox (its context is the sandbox's AsyncLocalStorage, its exporter the worker's `exporter` sink); without
 * them the API hands out no-op spans and this costs nothing.
 *
 *   RunWorkflow:orderSaga                          (the interceptor's; saga.type, saga.id, saga.status added here)
 *   ├─ SagaStep:reserveCredit                      saga.step, saga.step.outcome, saga.compensation
 *   │  └─ StartActivity:reserveCredit              (the interceptor's: the schedule, with the trace in its headers)
 *   │     └─ RunActivity:reserveCredit             (in the worker, around the activity: MongoDB spans below)
 *   └─ SagaCompensation:releaseCredit              saga.step, saga.compensation, saga.step.outcome
 *
 * Replay-safe: making a span issues no command and reads no clock but the workflow's; ids come from the sandbox's
 * deterministic `Math.random`, so a replayed span has the ids it had; the sink is not called while history is
 * replayed, so a span that ended before is not exported twice. Workflow-side times are workflow time (the time of
 * the workflow task): a step run as a local activity, inside the task that scheduled it, shows no duration of its
 * own; its RunActivity span has the real one.
 */
import { SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { sagaSpanAttributes as attr } from '../../common/tracing';

const tracer = () => trace.getTracer('saga');

/** The saga's own span (the interceptor's `RunWorkflow:<type>`), or undefined when nothing traces the workflow. */
export function sagaSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

export interface Traced<R> {
  /** What the traced call resolved to. */
  result: Promise<R>;
  /** Ends the span with the outcome (and the failure type when it failed). */
  end(outcome: 'completed' | 'compensated' | 'failed', extra?: { attempts?: number; failureType?: string }): void;
}

/**
 * Starts a span named `name` under the active one and runs `fn` in its context, so that the activity `fn` schedules
 * carries it as its parent. `fn` is called synchronously: no extra await, so the order of commands is unchanged.
 */
export function traced<R>(name: string, attributes: Record<string, string>, fn: () => Promise<R>): Traced<R> {
  const span = tracer().startSpan(name, { attributes });
  const result = context.with(trace.setSpan(context.active(), span), fn);
  return {
    result,
    end(outcome, extra = {}) {
      span.setAttribute(attr.outcome, outcome);
      if (extra.attempts !== undefined) span.setAttribute(attr.attempts, extra.attempts);
      if (extra.failureType !== undefined) {
        span.setAttribute(attr.failureType, extra.failureType);
        span.setStatus({ code: SpanStatusCode.ERROR, message: extra.failureType });
      }
      span.end();
    },
  };
}

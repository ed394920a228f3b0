/**
 * Tracing, for a saga worker whose process has the OpenTelemetry SDK running (bootstrap/tracing.ts; off unless an
 * OTEL_* exporter variable is set, and then none of this is installed). Temporal's own interceptors
 * (`@temporalio/interceptors-opentelemetry`), wired the way its `OpenTelemetryPlugin` wires them:
 *
 * - activities, regular and local alike (both run through the worker's activity interceptors, see
 *   attempt-reporting.ts): `RunActivity:<name>`, a child of the `StartActivity:<name>` span the workflow sent in
 *   the activity's headers; the MongoDB spans of the activity are its children. Here it also gets the attempt and
 *   whether the activity is local.
 * - workflows: the interceptor module (bundled into the workflow code, so only when the worker bundles at start)
 *   makes `RunWorkflow:<type>` and `StartActivity:<name>` spans inside the sandbox, where the compensation engine
 *   adds a span per step and per compensation (workflows/saga/tracing.ts); they leave the sandbox through the
 *   `exporter` sink into the process's span processor. The sink is not called while a history is replayed (the
 *   SDK's default for sinks), so a replayed workflow exports no span twice.
 */
import { trace } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  InjectedSinks,
  Next,
} from '@temporalio/worker';

/** What a traced worker needs from the process's SDK: where workflow spans go, and the process's resource. */
export interface WorkerTracing {
  spanProcessor: SpanProcessor;
  resource: Resource;
}

/** The workflow interceptor module of Temporal's OpenTelemetry package, for `interceptors.workflowModules`. */
export const tracingWorkflowModules: readonly string[] = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** The attempt and whether the activity is local, on the `RunActivity` span (which is active inside it). */
class ActivityAttemptAttributes implements ActivityInboundCallsInterceptor {
  constructor(private readonly info: { attempt: number; isLocal: boolean }) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    trace.getActiveSpan()?.setAttributes({
      'temporal.activity.attempt': this.info.attempt,
      'temporal.activity.local': this.info.isLocal,
    });
    return next(input);
  }
}

/** The activity interceptors, outermost first: Temporal's span around the whole attempt, then the attributes. */
export const traceActivities: ActivityInterceptorsFactory[] = [
  (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  }),
  (ctx) => ({ inbound: new ActivityAttemptAttributes(ctx.info) }),
];

/**
 * The workflow fields every workflow span gets as attributes. The SDK's exporter sink copies everything the
 * workflow's info holds onto each span (its search attributes, memo, last failure…); only these ids are kept.
 */
const workflowSpanFields = ['workflowId', 'runId', 'workflowType', 'namespace', 'taskQueue', 'attempt'] as const;

/** The worker's `sinks`: the `exporter` sink that takes the spans out of the sandbox into `spanProcessor`. */
export function workflowSpanSinks({ spanProcessor, resource }: WorkerTracing): InjectedSinks<OpenTelemetrySinks> {
  const { export: exporter } = makeWorkflowExporter(spanProcessor, resource);
  return {
    exporter: {
      export: {
        // The SDK's function only copies the info's fields onto the spans: the ids alone are all it needs.
        fn: (info, spans) => {
          const ids = Object.fromEntries(workflowSpanFields.map((k) => [k, info[k]]));
          return exporter.fn(ids as unknown as typeof info, spans);
        },
      },
    },
  };
}

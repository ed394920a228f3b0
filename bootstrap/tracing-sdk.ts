/**
 * The OpenTelemetry SDK of a process that traces (loaded by tracing.ts only then): the NodeSDK with its exporter
 * from the OTEL_* variables, the HTTP, Express and MongoDB instrumentations, and Temporal's interceptors.
 *
 * What comes from a client is used to continue its trace and for nothing else:
 * - only the W3C `traceparent` and `tracestate` headers are read (never `baggage`, which would carry whatever the
 *   client wrote into every span context of the saga);
 * - its sampled flag decides nothing: a trace's root decision (OTEL_TRACES_SAMPLER, by default every trace) is
 *   also taken for a remote parent, so that a client cannot switch the traces of its orders off (or a ratio on).
 *   A ratio sampler decides by trace id, so the API and the worker take the same decision for one trace.
 *
 * Spans carry ids and names, never data: MongoDB statements are recorded with every value replaced by `?`; HTTP
 * spans carry the method, the route and the status; the workflows' spans carry the ids kept by
 * workers/interceptors/tracing.ts. Probes (`/health`, `/ready`, `/metrics`) are not traced.
 */
import type { Logger } from 'pino';
import { DiagConsoleLogger, DiagLogLevel, ROOT_CONTEXT, diag, propagation, trace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { RootSampling, Tracing, TracingSettings } from './tracing';

/** Requests that are not traced: load balancers' and Prometheus' probes, several a minute each. */
const probe = /^\/(health|ready|metrics)(?:[/?]|$)/;

/** Every value of a MongoDB command replaced by `?`: the shape of the query and the field names stay. */
export function maskedStatement(command: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(command, (_key, value: unknown) => {
    if (typeof value !== 'object' || value === null) return '?';
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    return value;
  });
}

function sampler(sampling: RootSampling): Sampler {
  const root =
    sampling.kind === 'always_on'
      ? new AlwaysOnSampler()
      : sampling.kind === 'always_off'
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(sampling.ratio);
  return new ParentBasedSampler({ root, remoteParentSampled: root, remoteParentNotSampled: root });
}

/** The W3C `traceparent` of a span, as a response header. */
const w3c = new W3CTraceContextPropagator();
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, {
    set: (c: Record<string, string>, key, value) => (c[key] = value),
  });
  return carrier.traceparent;
}

export function startSdk(settings: Extract<TracingSettings, { enabled: true }>, log?: Logger): Tracing {
  // Export failures (the collector is down) say so on stderr; OTEL_LOG_LEVEL, if set, is the SDK's to apply.
  if (!process.env.OTEL_LOG_LEVEL) diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ERROR);
  const sdk = new NodeSDK({
    // Unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name the service (the SDK reads both).
    ...(settings.explicitServiceName ? {} : { serviceName: settings.serviceName }),
    sampler: sampler(settings.sampling),
    // Traces only: no OTel logs (the SDK would otherwise set up an OTLP log exporter by default).
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => probe.test(req.url ?? ''),
        // Called as a request arrives, before any handler: the answer carries the server span's traceparent.
        responseHook: (span, response) => {
          if (!('setHeader' in response)) return; // a client request's response (outgoing calls)
          const traceparent = traceparentOf(span);
          if (traceparent && !response.headersSent) response.setHeader('traceparent', traceparent);
        },
      }),
      // The route's handlers, not each middleware (helmet, the metrics, the table's checks: a dozen per request).
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
      new MongoDBInstrumentation({ enhancedDatabaseReporting: false, dbStatementSerializer: maskedStatement }),
    ],
  });
  sdk.start();
  // The NodeSDK applies `textMapPropagator` only with span processors of the caller's, and we let it make them from
  // the variables; so W3C trace context alone replaces the propagator it registered (OTEL_PROPAGATORS' default,
  // which takes baggage too).
  propagation.disable();
  propagation.setGlobalPropagator(w3c);
  const provider = trace.getTracerProvider();
  const delegate = 'getDelegate' in provider ? (provider as { getDelegate(): unknown }).getDelegate() : provider;
  if (!(delegate instanceof BasicTracerProvider) || !(delegate.resource instanceof Resource)) {
    throw new Error('the OpenTelemetry SDK did not register its tracer provider');
  }
  return {
    serviceName: settings.serviceName,
    destination: settings.destination,
    clientInterceptors: () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor()] }),
    worker: { spanProcessor: delegate.getActiveSpanProcessor(), resource: delegate.resource },
    // Never fails the process's exit: an unreachable collector loses the last spans, and says so.
    shutdown: () =>
      sdk.shutdown().catch((err: unknown) => log?.error({ err }, 'Tracing: the last spans were not exported')),
  };
}

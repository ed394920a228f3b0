/**
 * Traces (docs/operations.md, "Traces"): OpenTelemetry in the API and the worker, exported by OTLP where the
 * standard OTEL_* variables say, and **off when none of them is set**: then nothing is loaded or installed, no SDK,
 * no instrumentation, no interceptor.
 *
 * On with any of OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER (`otlp`,
 * `console`, `zipkin`; `none` is off), unless OTEL_SDK_DISABLED=true. The SDK (tracing-sdk.ts) reads the rest as
 * usual: OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf by default, grpc, http/json), _HEADERS, _TIMEOUT,
 * _COMPRESSION, OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME (default `saga-api`, `saga-worker`),
 * OTEL_TRACES_SAMPLER and _ARG (for the root decision only, see tracing-sdk.ts). Not read: OTEL_PROPAGATORS (only
 * W3C `traceparent`/`tracestate` are taken from a request, never baggage) and the metrics and logs variables
 * (metrics are Prometheus', bootstrap/telemetry.ts).
 *
 * The SDK patches `http`, `express` and `mongodb` as they are loaded, so it must start before them: each entry point
 * imports its `tracing-*.ts` first. These variables are the SDK's own, so they are checked here, at that first
 * import, rather than in common/config.ts; a wrong one stops the process naming it, like any other.
 */
import type { ClientInterceptors } from '@temporalio/client';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type * as sdk from './tracing-sdk';
import { ConfigError } from '../common/config';
import type { WorkerTracing } from '../workers/interceptors/tracing';
import type { ServiceConfig } from './config';

/** Tracing, running in this process. */
export interface Tracing {
  /** The service name spans are exported under. */
  serviceName: string;
  /** Where they go, for the start line: `OTLP http/protobuf to http://…`. */
  destination: string;
  /** For every Temporal client: a `StartWorkflow:<type>` (signal, query…) span whose context travels in headers. */
  clientInterceptors(): ClientInterceptors;
  /** For a saga worker (createSagaWorker's `tracing`). */
  worker: WorkerTracing;
  /** Exports what is still buffered and stops: call before the process exits. */
  shutdown(): Promise<void>;
}

const tracesExporters = ['otlp', 'console', 'zipkin', 'none'] as const;
const otlpProtocols = ['http/protobuf', 'http/json', 'grpc'] as const;
const endpointVariables = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const;

/** How a trace's root is sampled (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG): all, none, or a ratio of trace ids. */
export type RootSampling = { kind: 'always_on' } | { kind: 'always_off' } | { kind: 'ratio'; ratio: number };

export type TracingSettings =
  | { enabled: false; why: string }
  | {
      enabled: true;
      serviceName: string;
      /** Whether OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES named it (else it is the process's default). */
      explicitServiceName: boolean;
      destination: string;
      sampling: RootSampling;
    };

const samplers = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

function rootSampling(env: NodeJS.ProcessEnv): RootSampling {
  const sampler = read(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on';
  if (!(samplers as readonly string[]).includes(sampler)) {
    throw invalid('OTEL_TRACES_SAMPLER', `must be one of ${samplers.join(', ')}`);
  }
  if (sampler.endsWith('always_on')) return { kind: 'always_on' };
  if (sampler.endsWith('always_off')) return { kind: 'always_off' };
  const arg = read(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = arg === undefined ? 1 : Number(arg);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw invalid('OTEL_TRACES_SAMPLER_ARG', 'must be a number from 0 to 1');
  }
  return { kind: 'ratio', ratio };
}

/** An empty variable counts as unset (as in common/config.ts). */
const read = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value ? value : undefined;
};

const invalid = (name: string, problem: string) => new ConfigError(`Invalid configuration: ${name}: ${problem}`);

/**
 * Whether this process traces, from the OTEL_* variables, and under which service name.
 * @throws ConfigError naming the variable when one of them is wrong
 */
export function tracingSettings(env: NodeJS.ProcessEnv, defaultServiceName: string): TracingSettings {
  const disabled = read(env, 'OTEL_SDK_DISABLED');
  if (disabled !== undefined && !['true', 'false'].includes(disabled.toLowerCase())) {
    throw invalid('OTEL_SDK_DISABLED', 'must be true or false');
  }
  const exporters = (read(env, 'OTEL_TRACES_EXPORTER') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const exporter of exporters) {
    if (!(tracesExporters as readonly string[]).includes(exporter)) {
      throw invalid('OTEL_TRACES_EXPORTER', `'${exporter}' is not one of ${tracesExporters.join(', ')}`);
    }
  }
  if (exporters.includes('none') && exporters.length > 1) {
    throw invalid('OTEL_TRACES_EXPORTER', "'none' turns tracing off and cannot be listed with other exporters");
  }
  for (const name of endpointVariables) {
    const url = read(env, name);
    if (url !== undefined && !/^https?:\/\/[^/\s]+/.test(url)) throw invalid(name, 'must be an http(s) URL');
  }
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = read(env, name);
    if (protocol !== undefined && !(otlpProtocols as readonly string[]).includes(protocol)) {
      throw invalid(name, `must be one of ${otlpProtocols.join(', ')}`);
    }
  }
  const sampling = rootSampling(env);
  if (disabled?.toLowerCase() === 'true') return { enabled: false, why: 'OTEL_SDK_DISABLED=true' };
  if (exporters.includes('none')) return { enabled: false, why: 'OTEL_TRACES_EXPORTER=none' };
  const endpoint = endpointVariables.map((name) => read(env, name)).find((url) => url !== undefined);
  if (exporters.length === 0 && endpoint === undefined) {
    return { enabled: false, why: `none of ${[...endpointVariables, 'OTEL_TRACES_EXPORTER'].join(', ')} is set` };
  }
  const protocol =
    read(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? read(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
  const destination = (exporters.length > 0 ? exporters : ['otlp'])
    .map((e) => (e === 'otlp' ? `OTLP ${protocol} to ${endpoint ?? 'the default endpoint'}` : e))
    .join(', ');
  // OTEL_SERVICE_NAME wins, then a service.name in OTEL_RESOURCE_ATTRIBUTES, then the process's default.
  const fromAttributes = /(?:^|,)\s*service\.name\s*=\s*([^,]+)/.exec(read(env, 'OTEL_RESOURCE_ATTRIBUTES') ?? '')?.[1];
  const explicit = read(env, 'OTEL_SERVICE_NAME') ?? fromAttributes?.trim();
  return {
    enabled: true,
    serviceName: explicit ?? defaultServiceName,
    explicitServiceName: !!explicit,
    destination,
    sampling,
  };
}

/**
 * Starts tracing when the OTEL_* variables ask for it (undefined otherwise). Only then is the SDK loaded: a process
 * without them loads none of it.
 * @throws ConfigError naming the variable when one of them is wrong
 */
export function startTracing(
  defaultServiceName: string,
  env: NodeJS.ProcessEnv = process.env,
  log?: Logger,
): Tracing | undefined {
  const settings = tracingSettings(env, defaultServiceName);
  if (!settings.enabled) return undefined;
  // Loaded on demand, on purpose: the SDK and its instrumentations are not even read from disk when tracing is off.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startSdk } = require('./tracing-sdk') as typeof sdk;
  return startSdk(settings, log);
}

/**
 * `startTracing` for an entry point's first import: prints where spans go, or exits 1 naming a wrong variable
 * (nothing else has started yet, so there is nothing to stop).
 */
export function startTracingOrExit(defaultServiceName: string): Tracing | undefined {
  const log = earlyLogger(defaultServiceName);
  try {
    const tracing = startTracing(defaultServiceName, process.env, log);
    if (tracing) log.info(`Tracing: spans of service '${tracing.serviceName}' go by ${tracing.destination}`);
    return tracing;
  } catch (err) {
    log.fatal(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}

/**
 * The lines tracing writes before the process's logger exists (it starts before anything else is loaded, so it
 * cannot take bootstrap/logging.ts, which loads the SDK): pino alone, JSON or pretty as LOG_FORMAT says.
 */
function earlyLogger(name: string): Logger {
  const stream =
    process.env.LOG_FORMAT === 'pretty'
      ? pretty({ destination: 1, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ dest: 1, sync: true });
  return pino({ name, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

/**
 * The worker's part of `tracing`, checked against the configuration: the workflow interceptors must be bundled in,
 * which a prebuilt bundle (WORKFLOW_BUNDLE_PATH) was not.
 * @throws ConfigError naming WORKFLOW_BUNDLE_PATH
 */
export function workerTracing(config: ServiceConfig, tracing: Tracing | undefined): WorkerTracing | undefined {
  if (tracing && config.WORKFLOW_BUNDLE_PATH) {
    throw new ConfigError(
      'Invalid configuration: WORKFLOW_BUNDLE_PATH: a prebuilt workflow bundle has no tracing interceptors; unset it while tracing is on (OTEL_* variables), the worker then bundles its workflows at start',
    );
  }
  return tracing?.worker;
}

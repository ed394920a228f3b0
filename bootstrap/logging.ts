/**
 * The processes' one logger (docs/operations.md, "Logs"): pino, made here from the configuration (LOG_LEVEL,
 * LOG_FORMAT) and passed down; the API's request lines (api/request-log.ts) and the SDK's Runtime logger
 * (`sdkLogger`: the SDK's own lines, the workflows' and the activities' `log`) write through it.
 */
import { ApplicationFailure, type LogLevel as SdkLogLevel } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { ConfigError, type Config } from '../common/config';
import { loadServiceConfig, type ServiceConfig } from './config';
import { SagaFailure } from '../common/failures';

export type { Logger } from 'pino';

/**
 * Fields that would hold a secret or personal data, censored wherever a logged object has one (top level and two
 * levels down): a second line of defence. The first is that nothing logs them: request lines have no headers and
 * no body (api/request-log.ts), workflows and activities never log their input.
 */
const secretFields = [
  'authorization',
  'cookie',
  'set-cookie',
  'token',
  'taskToken',
  'apiKey',
  'password',
  'secret',
  'PAYLOAD_KEYS',
  'payment',
  'shippingAddress',
  'address',
  'line1',
  'city',
  'postalCode',
];

const fieldPath = (field: string) => (/^[A-Za-z_$][\w$]*$/.test(field) ? `.${field}` : `["${field}"]`);

const redactedPaths = secretFields.flatMap((field) =>
  ['', '*', '*.*'].map((parent) => `${parent}${fieldPath(field)}`.replace(/^\./, '')),
);

/**
 * pino's error serializer (type, message and stack, the causes' appended), keeping a Temporal failure's own type
 * (`ApplicationFailure.type`: PaymentDeclined, InjectedFault…) as `failureType`: pino would drop it for the class name.
 */
function serializeError(err: Error): pino.SerializedError {
  const serialized = pino.stdSerializers.err(err);
  if (err instanceof ApplicationFailure && err.type) serialized.failureType = err.type;
  return serialized;
}

/**
 * Fields of the moment a line is written, beside its own and its logger's: the active span's `traceId` and `spanId`,
 * so that a line written while a request or an activity is traced names its trace (docs/operations.md, "Traces").
 */
function contextFields(): Record<string, unknown> {
  // The active span's ids when tracing is on (bootstrap/tracing.ts); with it off the API's no-op span has none.
  const context = trace.getActiveSpan()?.spanContext();
  return context && isSpanContextValid(context) ? { traceId: context.traceId, spanId: context.spanId } : {};
}

export interface LoggerOptions {
  /** The process (`api`, `worker`): every line's `name`. */
  name: string;
  /** File descriptor: stdout (1, the default) or stderr (2). */
  destination?: 1 | 2;
}

/**
 * The root logger of a process: JSON lines (LOG_FORMAT=json) or lines for a terminal (pretty, by pino-pretty in this
 * process), at LOG_LEVEL, with ISO times, secrets censored. Written synchronously, so that no line is lost when the
 * process exits and lines keep their order.
 */
export function createLogger(
  config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>,
  { name, destination = 1 }: LoggerOptions,
): Logger {
  const stream: DestinationStream =
    config.LOG_FORMAT === 'pretty'
      ? pretty({ destination, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ dest: destination, sync: true });
  return pino(
    {
      name,
      level: config.LOG_LEVEL,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      serializers: { err: serializeError },
      mixin: contextFields,
    },
    stream,
  );
}

const pinoLevelOf: Record<SdkLogLevel, Level> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The SDK's level that lets through what `level` does (the SDK has no fatal and no silent: pino drops those). */
export function sdkLevelOf(level: string): SdkLogLevel {
  const levels: Record<string, SdkLogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' };
  return levels[level] ?? 'ERROR';
}

/**
 * The SDK's Runtime logger (`Runtime.install({ logger })`, bootstrap/telemetry.ts) writing into `logger`: the SDK's
 * own lines (worker state, activity failures; the native core's, forwarded), the workflows' `log` (replay-aware:
 * nothing while a workflow replays) and the activities' `log`. The SDK's metadata become fields (sdkComponent,
 * workflowId, runId, workflowType, activityType, attempt…, and the saga's: workers/interceptors/log-attributes.ts);
 * the error an entry carries (`error`) becomes pino's `err`, its type, message, stack and causes.
 */
export function sdkLogger(logger: Logger): DefaultLogger {
  return new DefaultLogger(sdkLevelOf(logger.level), ({ level, message, meta }) => {
    const { error, ...fields } = meta ?? {};
    if (message === 'Workflow failed' && closedCompensated(error)) {
      // A business outcome, already logged as "Saga COMPENSATED" with the step's failure: not an error again.
      logger.info(
        { ...fields, failureType: SagaFailure.Compensated },
        'Workflow closed as failed: the saga compensated',
      );
      return;
    }
    logger[pinoLevelOf[level]](error === undefined ? fields : { ...fields, err: error }, message);
  });
}

/** The failure a compensated saga closes its run with (`SagaCompensated`, workflows/saga/compensation-stack.ts). */
function closedCompensated(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { type, message } = error as { type?: unknown; message?: unknown };
  return type === SagaFailure.Compensated || (typeof message === 'string' && message.startsWith('Compensated: step '));
}

/**
 * An error that a line has already carried (the SDK logs "Worker failed" with its error before `Worker.run()`
 * rejects): the process's last line says that it stops, without repeating it.
 */
export class LoggedError extends Error {
  override name = 'LoggedError';
}

/** The process's last line, fatal, then exit 1. Each error once: a configuration error as its message alone. */
function exitWith(logger: Logger, err: unknown): never {
  if (err instanceof ConfigError)
    logger.fatal(err.message); // it names the variable: a stack trace would not help
  else if (err instanceof LoggedError) logger.fatal(`${err.message}: exiting`);
  else logger.fatal({ err }, `${err instanceof Error ? err.message : String(err)}: exiting`);
  process.exit(1);
}

/**
 * How an entry point runs: its configuration loaded and validated, its logger made from it, then `main`. A wrong
 * variable stops the process at once, exit 1, with one line on stderr naming it (in the default format: the logger's
 * own variables may be what is wrong); any failure of `main` is logged once, fatal, on the process's logger before
 * exit 1.
 */
export function runMain(name: string, main: (config: ServiceConfig, logger: Logger) => Promise<void>): void {
  let config: ServiceConfig;
  try {
    config = loadServiceConfig();
  } catch (err) {
    exitWith(createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, { name, destination: 2 }), err);
  }
  const logger = createLogger(config, { name });
  main(config, logger).catch((err: unknown) => exitWith(logger, err));
}

import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import { sagaMetricNames } from '../common/saga-metrics';
import type { ServiceConfig } from './config';
import { sdkLevelOf, sdkLogger, type Logger } from './logging';

/** Milliseconds: a saga takes from tens of ms to minutes (a wait for an operator or an approval: hours). */
const SAGA_MS_BUCKETS = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 3_600_000];
const STEP_MS_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000];
const ATTEMPT_BUCKETS = [1, 2, 3, 4, 5, 8, 10];

/**
 * The SDK's Runtime options of a process that runs a worker: its logger writing into the process's (`sdkLogger`),
 * the native core's lines forwarded to it too (warnings and errors; with LOG_LEVEL=error and above, errors only)
 * rather than printed apart; with WORKER_METRICS_ADDRESS, its Prometheus exporter there (the SDK's worker metrics:
 * workflow-task and activity latencies, schedule-to-start, slots, sticky cache; under the `temporal_` prefix; and
 * the sagas' business metrics, workflows/saga/metrics.ts, under their own names), durations in milliseconds and
 * counters without `_total`, the SDK's defaults that Temporal's dashboards expect.
 */
export function runtimeOptions(config: ServiceConfig, logger: Logger, extra: RuntimeOptions = {}): RuntimeOptions {
  const core = sdkLevelOf(logger.level) === 'ERROR' ? 'ERROR' : 'WARN';
  const logging = { filter: { core, other: 'ERROR' }, forward: {} } as const;
  const bindAddress = config.WORKER_METRICS_ADDRESS;
  return {
    ...extra,
    logger: sdkLogger(logger),
    telemetryOptions: {
      logging,
      ...(bindAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress,
                histogramBucketOverrides: {
                  [sagaMetricNames.duration]: SAGA_MS_BUCKETS,
                  [sagaMetricNames.stepDuration]: STEP_MS_BUCKETS,
                  [sagaMetricNames.stepAttempts]: ATTEMPT_BUCKETS,
                },
              },
            },
          }
        : {}),
    },
  };
}

/**
 * Installs the SDK's Runtime: once per process, before any connection or worker (the SDK creates a default one
 * at the first connection otherwise, and it cannot be replaced). The SDK holds its lines back up to 100 ms to
 * sort them by time: whatever it still holds is written when the process exits.
 */
export function installRuntime(config: ServiceConfig, logger: Logger, extra: RuntimeOptions = {}): void {
  const runtime = Runtime.install(runtimeOptions(config, logger, extra));
  process.once('exit', () => runtime.flushLogs());
  if (config.WORKER_METRICS_ADDRESS) {
    logger.info(`Worker metrics on http://${config.WORKER_METRICS_ADDRESS}/metrics`);
  }
}

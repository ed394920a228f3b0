import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import { sagaMetricNames } from '../common/saga-metrics';
import type { ServiceConfig } from './config';

/** Milliseconds: a saga takes from tens of ms to minutes (a wait for an operator or an approval: hours). */
const SAGA_MS_BUCKETS = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 3_600_000];
const STEP_MS_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000];
const ATTEMPT_BUCKETS = [1, 2, 3, 4, 5, 8, 10];

/**
 * The SDK's Runtime options of a process that runs a worker: with WORKER_METRICS_ADDRESS, its Prometheus exporter
 * there (the SDK's worker metrics: workflow-task and activity latencies, schedule-to-start, slots, sticky cache;
 * under the `temporal_` prefix; and the sagas' business metrics, workflows/saga/metrics.ts, under their own names),
 * durations in milliseconds and counters without `_total`, the SDK's defaults that Temporal's dashboards expect.
 */
export function runtimeOptions(config: ServiceConfig, extra: RuntimeOptions = {}): RuntimeOptions {
  const bindAddress = config.WORKER_METRICS_ADDRESS;
  if (!bindAddress) return extra;
  return {
    ...extra,
    telemetryOptions: {
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
    },
  };
}

/**
 * Installs the SDK's Runtime: once per process, before any connection or worker (the SDK creates a default one
 * at the first connection otherwise, and it cannot be replaced).
 */
export function installRuntime(config: ServiceConfig, extra: RuntimeOptions = {}): void {
  Runtime.install(runtimeOptions(config, extra));
  if (config.WORKER_METRICS_ADDRESS) console.log(`Worker metrics on http://${config.WORKER_METRICS_ADDRESS}/metrics`);
}

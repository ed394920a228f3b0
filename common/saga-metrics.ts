/**
 * The names of the sagas' business metrics (workflows/saga/metrics.ts records them; bootstrap/telemetry.ts gives the
 * histograms their buckets): the worker's exporter serves them under these names (its `temporal_` prefix
 * is for the SDK's own metrics only). docs/operations.md describes each.
 */
export const sagaMetricNames = {
  finished: 'saga_finished',
  duration: 'saga_duration',
  stepDuration: 'saga_step_duration',
  stepAttempts: 'saga_step_attempts',
  compensations: 'saga_compensations',
  operatorWaits: 'saga_operator_waits',
  operatorWaitsEnded: 'saga_operator_waits_ended',
} as const;

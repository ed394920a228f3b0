/**
 * The sagas' business metrics, through the SDK's workflow `metricMeter`: emitted only when the code runs for the
 * first time, never while a history replays (the SDK checks `isReplaying` on every call), so a worker that
 * rebuilds a saga from its history (cache eviction, restart, another worker) does not count it again. Recording a
 * metric issues no command, so calls may be added or moved without breaking the replay of old histories.
 *
 * Every metric carries the SDK's own tags: `workflowType` (the saga type), `namespace`, `taskQueue`. The worker
 * exports them with its Prometheus exporter (bootstrap/telemetry.ts) under these names (the exporter's `temporal_`
 * prefix is for the SDK's own metrics only; counters have no `_total`, like the SDK's); a worker without a metrics
 * exporter drops them. Names and what to do when they move: docs/operations.md.
 */
import { metricMeter, workflowInfo } from '@temporalio/workflow';
import { sagaMetricNames } from '../../common/saga-metrics';
import type { SagaStatus } from '../../common/saga-state';

const elapsedMs = (sinceIso: string | Date): number =>
  Math.max(0, Date.now() - (typeof sinceIso === 'string' ? Date.parse(sinceIso) : sinceIso.getTime()));

/** The saga reached COMPLETED, COMPENSATED or FAILED (a compensation gave up; it waits for an operator). */
export function sagaReached(outcome: SagaStatus): void {
  metricMeter
    .createCounter(sagaMetricNames.finished, undefined, 'Sagas that reached COMPLETED, COMPENSATED or FAILED')
    .add(1, { outcome });
  metricMeter
    .createHistogram(sagaMetricNames.duration, 'int', 'ms', 'From the saga start to its outcome, in milliseconds')
    .record(elapsedMs(workflowInfo().startTime), { outcome });
  if (outcome === 'FAILED') {
    metricMeter
      .createCounter(sagaMetricNames.operatorWaits, undefined, 'Sagas that began to wait for an operator')
      .add(1);
  }
}

/** A FAILED saga's operator sent retryCompensation: it no longer waits. */
export function operatorWaitEnded(): void {
  metricMeter
    .createCounter(sagaMetricNames.operatorWaitsEnded, undefined, 'Sagas an operator let go on (retryCompensation)')
    .add(1);
}

/** A step ended: how long it took (from its first attempt to its answer) and in how many attempts. */
export function stepEnded(step: string, outcome: 'completed' | 'failed', startedAt: string, attempts: number): void {
  metricMeter
    .createHistogram(sagaMetricNames.stepDuration, 'int', 'ms', 'A step from its start to its answer, in milliseconds')
    .record(elapsedMs(startedAt), { step, outcome });
  if (attempts > 0) {
    metricMeter
      .createHistogram(sagaMetricNames.stepAttempts, 'int', undefined, 'Attempts a step took')
      .record(attempts, { step, outcome });
  }
}

/** A compensation ended: it undid its step, or it gave up and the saga is FAILED. */
export function compensationEnded(step: string, compensation: string, outcome: 'compensated' | 'failed'): void {
  metricMeter
    .createCounter(sagaMetricNames.compensations, undefined, 'Compensations run, by step and outcome')
    .add(1, { step, compensation, outcome });
}

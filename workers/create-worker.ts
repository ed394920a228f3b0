import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import {
  type ActivityInterceptorsFactory,
  type NativeConnection,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import type { Db } from 'mongodb';
import { createActivities } from '../activities';
import { reportAttempts } from './interceptors/attempt-reporting';
import { injectFaults, type FaultPlan } from './interceptors/fault-injection';
import { bundleHasCallLimits, callLimitModule, type CallLimits } from './interceptors/call-limits';
import { sagaActivityLogAttributes } from './interceptors/log-attributes';
import { traceActivities, tracingWorkflowModules, workflowSpanSinks, type WorkerTracing } from './interceptors/tracing';
import { sizingOptions, type WorkerSizing } from './sizing';
import { ensureDomainEventIndexes } from '../store/domain-events';
import { ensureSagaConfigIndexes } from '../store/saga-config';
import { ensureSagaViewIndexes } from '../store/saga-views';
import type { CarrierLink } from '../common/carrier';

export const workflowsPath = require.resolve('../workflows');

/**
 * The workflow interceptor modules, bundled with the workflows: the saga's log attributes. A prebuilt bundle
 * (`workflowBundle`: the tests', the chaos run's) must be made with them (`bundleWorkflowCode({ workflowsPath,
 * workflowInterceptorModules })`).
 */
export const workflowInterceptorModules = [require.resolve('./interceptors/workflow-log-attributes')];

export interface SagaWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  servedCountries: readonly string[];
  /**
   * Client for activities that signal other workflows (a completed order signals the loyalty entity workflow).
   * Required: without it a completed order saga would retry that notification forever.
   */
  temporal: Client;
  /**
   * The payload codec and failure converter (codec/data-converter.ts `sagaDataConverter`): the same one as every
   * client's, or the worker cannot read what they wrote.
   */
  dataConverter: DataConverter;
  /**
   * The broker carrier (CARRIER=broker; workers/carrier-replies.ts `startBrokerCarrier`): new order sagas send their
   * shipment commands through it. Unset: new sagas use the in-process carrier.
   */
  carrier?: CarrierLink;
  /** A prebuilt workflow bundle (tests build one once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceSeconds?: number;
  /** Slots, pollers and cache; unset fields use DEFAULT_SIZING (workers/sizing.ts). */
  sizing?: WorkerSizing;
  /** Test hook (SAGA_FAULTS, docs/faults.md): faults to inject into the activities. Absent in production. */
  faults?: FaultPlan;
  /**
   * Test hook (SAGA_CALL_LIMITS, docs/failure-matrix.md): caps on every call's timeouts and retries, applied by a
   * workflow interceptor bundled with the workflows; a prebuilt `workflowBundle` must have been made with the same
   * limits (`callLimitModule`), or the worker refuses to start. Absent in production.
   */
  callLimits?: CallLimits;
  /**
   * Test hook: more activity inbound interceptors, run inside attempt reporting and fault injection (the tests'
   * kit to hold or break a saga, test/support/saga-hooks.ts). Absent in production.
   */
  activityInterceptors?: ActivityInterceptorsFactory[];
  /** Extra worker options, e.g. smaller caches in tests. */
  overrides?: Partial<WorkerOptions>;
  /**
   * The process's OpenTelemetry SDK (bootstrap/tracing.ts), when tracing is on: spans for workflows, steps,
   * compensations and activities (interceptors/tracing.ts). The workflow interceptors are bundled in, so not with a
   * prebuilt `workflowBundle`.
   */
  tracing?: WorkerTracing;
}

/**
 * Wires the saga workflows and the participant activities into one worker. Every activity, regular or local, runs
 * inside attempt reporting (the workflows rely on it); fault injection only with a fault plan. Every line logged
 * about a workflow or an activity names its saga (interceptors/log-attributes.ts, workflow-log-attributes.ts).
 */
export async function createSagaWorker(options: SagaWorkerOptions): Promise<Worker> {
  const { connection, namespace, taskQueue, db, servedCountries, workflowBundle, shutdownGraceSeconds = 20 } = options;
  const { tracing } = options;
  if (tracing && workflowBundle) {
    throw new Error('tracing needs the workflow interceptors bundled in: it cannot use a prebuilt workflow bundle');
  }
  const { callLimits } = options;
  if (
    callLimits &&
    workflowBundle &&
    'codePath' in workflowBundle &&
    !bundleHasCallLimits(workflowBundle.codePath, callLimits)
  ) {
    throw new Error(
      `the prebuilt workflow bundle lacks the call limits ${JSON.stringify(callLimits)}: bundle it with callLimitModule(limits)`,
    );
  }
  await ensureDomainEventIndexes(db);
  await ensureSagaViewIndexes(db);
  await ensureSagaConfigIndexes(db);
  const activities = createActivities({ db, servedCountries, temporal: options.temporal, carrier: options.carrier });
  // The first interceptor is the outermost: attempt reporting sees the failures injected inside it, and the
  // activity's span (with tracing) the whole attempt.
  const activityInterceptors: ActivityInterceptorsFactory[] = [
    ...(tracing ? traceActivities : []),
    sagaActivityLogAttributes,
    reportAttempts,
    ...(options.faults ? [injectFaults(options.faults, Object.keys(activities))] : []),
    ...(options.activityInterceptors ?? []),
  ];
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities,
    dataConverter: options.dataConverter,
    interceptors: {
      activity: activityInterceptors,
      ...(workflowBundle
        ? {}
        : {
            workflowModules: [
              ...workflowInterceptorModules,
              ...(tracing ? tracingWorkflowModules : []),
              ...(callLimits ? [callLimitModule(callLimits)] : []),
            ],
          }),
    },
    ...(tracing ? { sinks: workflowSpanSinks(tracing) } : {}),
    // Without a grace time running activities are abandoned on SIGTERM and retried only after
    // their start-to-close timeout.
    shutdownGraceTime: `${shutdownGraceSeconds}s`,
    ...sizingOptions(options.sizing),
    ...options.overrides,
  });
}

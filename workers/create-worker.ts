import type { Client } from '@temporalio/client';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Db } from 'mongodb';
import { createActivities } from '../activities';
import { describeFaultPlan, type FaultPlan } from '../activities/faults';
import type { Config } from '../common/config';
import { sizingFromConfig, sizingOptions, type WorkerSizing } from './sizing';

export const workflowsPath = require.resolve('../workflows');

export interface SagaWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  servedCountries: readonly string[];
  /**
   * Client for activities that signal other sagas (a completed order signals the loyalty saga).
   * Required: without it a completed order saga would retry that notification forever.
   */
  temporal: Client;
  /** A prebuilt workflow bundle (tests build one once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceSeconds?: number;
  /** Slots, pollers and cache; unset fields use DEFAULT_SIZING (workers/sizing.ts). */
  sizing?: WorkerSizing;
  /** Test hook (docs/faults.md): faults to inject into the activities. */
  faults?: FaultPlan;
  /** Extra worker options, e.g. smaller caches in tests. */
  overrides?: Partial<WorkerOptions>;
}

/** Wires the saga workflows and the participant activities into one worker. */
export async function createSagaWorker(options: SagaWorkerOptions): Promise<Worker> {
  const { connection, namespace, taskQueue, db, servedCountries, workflowBundle, shutdownGraceSeconds = 20 } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: createActivities({ db, servedCountries, temporal: options.temporal, faults: options.faults }),
    // Without a grace time running activities are abandoned on SIGTERM and retried only after
    // their start-to-close timeout.
    shutdownGraceTime: `${shutdownGraceSeconds}s`,
    ...sizingOptions(options.sizing),
    ...options.overrides,
  });
}

/** The worker's options that come from the configuration (the worker process and the API's embedded worker). */
export function workerOptionsFromConfig(
  config: Config,
): Omit<SagaWorkerOptions, 'connection' | 'db' | 'temporal' | 'overrides'> {
  return {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE,
    servedCountries: config.SERVED_COUNTRIES,
    shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
    faults: config.SAGA_FAULTS,
    sizing: sizingFromConfig(config),
    ...(config.WORKFLOW_BUNDLE_PATH ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } } : {}),
  };
}

/** The line a process that injects faults prints at start (the worker process, the API with its embedded worker). */
export function warnIfFaultsInjected(faults: FaultPlan | undefined): void {
  if (faults) {
    console.warn(
      `SAGA_FAULTS is set: injecting faults (a test hook, never for production): ${describeFaultPlan(faults)}`,
    );
  }
}

import { sagaDataConverter } from '../codec/data-converter';
import { describeFaultPlan, type FaultPlan } from '../workers/interceptors/fault-injection';
import type { SagaWorkerOptions } from '../workers/create-worker';
import { sizingFromConfig } from '../workers/sizing';
import type { ServiceConfig } from './config';
import type { Logger } from './logging';

/** The worker's options that come from the configuration (the worker process and the API's embedded worker). */
export function workerOptionsFromConfig(
  config: ServiceConfig,
): Omit<SagaWorkerOptions, 'connection' | 'db' | 'temporal' | 'overrides'> {
  return {
    dataConverter: sagaDataConverter(config.payloadKeyRing),
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE,
    servedCountries: config.SERVED_COUNTRIES,
    shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
    ...(config.faults ? { faults: config.faults } : {}),
    ...(config.callLimits ? { callLimits: config.callLimits } : {}),
    sizing: sizingFromConfig(config),
    ...(config.WORKFLOW_BUNDLE_PATH ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } } : {}),
  };
}

/** The line a process that injects faults logs at start (the worker process, the API with its embedded worker). */
export function warnIfFaultsInjected(faults: FaultPlan | undefined, logger: Logger): void {
  if (faults) {
    logger.warn(
      `SAGA_FAULTS is set: injecting faults (a test hook, never for production): ${describeFaultPlan(faults)}`,
    );
  }
}

/** The line a process logs at start when payloads are stored in plain text (PAYLOAD_ENCRYPTION=off). */
export function warnIfUnencrypted(config: ServiceConfig, logger: Logger): void {
  if (!config.payloadKeyRing) {
    logger.warn('PAYLOAD_ENCRYPTION=off: payloads are stored in Temporal in plain text (docs/security.md)');
  }
}

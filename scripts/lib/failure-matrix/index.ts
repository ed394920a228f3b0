/**
 * The failure matrix (docs/failure-matrix.md): for every saga definition, every step × failure kind run as a real
 * saga on the real servers and checked (run.ts), the cells derived from the definition (cells.ts).
 *
 * `startMatrixHarness` gives a harness (test/support/harness.ts: its own database, task queue, worker and API) whose
 * worker runs a workflow bundle made with the matrix's call limits and the matrix's fault interceptor.
 */
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from '../../../codec/data-converter';
import type { SagaType } from '../../../common/domain-events';
import { payloadKeyEnv } from '../../../codec/data-converter';
import { requireEnv, servedCountries, startHarness, type Harness } from '../../../test/support/harness';
import { callLimitModule } from '../../../workers/interceptors/call-limits';
import { workflowInterceptorModules, workflowsPath } from '../../../workers/create-worker';
import { sagaDefinitions } from '../../../workflows/definitions';
import { cellsOf, failureKinds, type Cell, type FailureKind } from './cells';
import { MatrixFaults } from './faults';
import { fixtures } from './fixtures';
import { matrixCallLimits, runCells, type CellOutcome, type KillWorkers } from './run';
import { coverage, formatMatrix } from './table';

export { cellsOf, coverage, failureKinds, fixtures, formatMatrix, matrixCallLimits, runCells };
export type { Cell, CellOutcome, FailureKind };

export const sagaTypes = Object.keys(sagaDefinitions) as SagaType[];

/** The cells of one saga type's matrix. */
export function matrixCells(sagaType: SagaType, kinds: readonly FailureKind[] = failureKinds): Cell[] {
  return cellsOf(sagaType, sagaDefinitions[sagaType], { kinds, members: fixtures[sagaType].members });
}

export interface MatrixHarness {
  h: Harness;
  faults: MatrixFaults;
  /** The worker processes of the kill cells: the same database, task queue, bundle and call limits. */
  workers: KillWorkers;
  stop(): Promise<void>;
}

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

/** The workflows bundled with the matrix's call limits (written under .data/failure-matrix/). */
export async function bundleWithCallLimits(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: [...workflowInterceptorModules, callLimitModule(matrixCallLimits)],
    failureConverterPath,
    logger: quiet,
  });
  const dir = path.join(__dirname, '..', '..', '..', '.data', 'failure-matrix');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `workflow-bundle-${process.pid}.js`);
  writeFileSync(file, code);
  return file;
}

/** A harness whose worker runs with the call limits and the matrix's faults. Needs the env `startHarness` reads. */
export async function startMatrixHarness(bundle?: string): Promise<MatrixHarness> {
  const faults = new MatrixFaults();
  const workflowBundle = bundle ?? (await bundleWithCallLimits());
  const h = await startHarness('matrix', {
    worker: { bundle: workflowBundle, callLimits: matrixCallLimits, activityInterceptors: [faults.interceptor] },
  });
  const workers: KillWorkers = {
    env: {
      TEMPORAL_ADDRESS: requireEnv('TEMPORAL_ADDRESS'),
      MONGODB_URI: requireEnv('MONGODB_URI'),
      MONGODB_DB: h.db.databaseName,
      TASK_QUEUE: h.taskQueue,
      SERVED_COUNTRIES: servedCountries.join(','),
      SAGA_CALL_LIMITS: Object.entries(matrixCallLimits)
        .map(([name, value]) => `${name}=${value}`)
        .join(','),
      WORKFLOW_BUNDLE_PATH: workflowBundle,
      WORKER_SHUTDOWN_GRACE_SECONDS: '2',
      ...payloadKeyEnv(),
    },
    logDir: path.join(__dirname, '..', '..', '..', '.data', 'logs'),
  };
  return { h, faults, workers, stop: () => h.stop() };
}

/** Runs the cells of one saga type and returns their outcomes. */
export function runMatrix(
  m: MatrixHarness,
  sagaType: SagaType,
  cells: readonly Cell[],
  onCell?: (outcome: CellOutcome) => void,
): Promise<CellOutcome[]> {
  return runCells(m.h, m.faults, fixtures[sagaType], cells, onCell, m.workers);
}

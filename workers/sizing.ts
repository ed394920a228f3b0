import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from '../common/config';

/** How many tasks of each kind the worker runs at once, how many pollers it keeps, how many workflows it caches. */
export interface WorkerSizing {
  workflowTaskSlots?: number;
  activitySlots?: number;
  localActivitySlots?: number;
  /** Long polls per task kind (workflow and activity). */
  pollers?: number;
  cachedWorkflows?: number;
}

/**
 * The sizing used when the environment sets none. Measured on a 2-core machine (`npm run bench:sweep -- sizing`,
 * bench/results/sweep-sizing.md): the SDK's slot and poller defaults do as well as any smaller setting, and 2 or 4
 * workflow-task slots are clearly worse (higher latency and CPU per saga); so these are the SDK's own values,
 * written out. The workflow cache is left to the SDK, which sizes it from the heap limit: 100 and 1000 cached
 * workflows measured the same at a few hundred parked sagas.
 */
export const DEFAULT_SIZING: Readonly<WorkerSizing> = {
  workflowTaskSlots: 40,
  activitySlots: 100,
  localActivitySlots: 100,
  pollers: 10,
};

/** Worker options for a sizing: unset fields fall back to DEFAULT_SIZING, then to the SDK's defaults. */
export function sizingOptions(sizing: WorkerSizing = {}): Partial<WorkerOptions> {
  const s: WorkerSizing = { ...DEFAULT_SIZING, ...stripUndefined(sizing) };
  const out: Partial<WorkerOptions> = {};
  if (s.workflowTaskSlots !== undefined) out.maxConcurrentWorkflowTaskExecutions = s.workflowTaskSlots;
  if (s.activitySlots !== undefined) out.maxConcurrentActivityTaskExecutions = s.activitySlots;
  if (s.localActivitySlots !== undefined) out.maxConcurrentLocalActivityExecutions = s.localActivitySlots;
  if (s.cachedWorkflows !== undefined) out.maxCachedWorkflows = s.cachedWorkflows;
  if (s.pollers !== undefined) {
    // Poller counts reach the SDK (1.24) only as poller behaviours; its maxConcurrent*TaskPolls options are no
    // longer read. At least 2 workflow pollers while workflows are cached (one is for the sticky queue), and
    // never more pollers than slots.
    const wftSlots = s.workflowTaskSlots ?? 40;
    const minWorkflowPolls = s.cachedWorkflows === 0 ? 1 : 2;
    const workflowPolls = Math.min(Math.max(s.pollers, minWorkflowPolls), wftSlots);
    const activityPolls = Math.min(s.pollers, s.activitySlots ?? 100);
    out.workflowTaskPollerBehavior = { type: 'simple-maximum', maximum: workflowPolls };
    out.activityTaskPollerBehavior = { type: 'simple-maximum', maximum: activityPolls };
  }
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The sizing the environment asks for (WORKER_* variables); unset ones stay undefined. */
export function sizingFromConfig(config: Config): WorkerSizing {
  return {
    workflowTaskSlots: config.WORKER_WORKFLOW_TASK_SLOTS,
    activitySlots: config.WORKER_ACTIVITY_SLOTS,
    localActivitySlots: config.WORKER_LOCAL_ACTIVITY_SLOTS,
    pollers: config.WORKER_POLLERS,
    cachedWorkflows: config.WORKER_CACHED_WORKFLOWS,
  };
}

/**
 * The backfill half of `npm run rebuild-read-model`: a view for every saga Temporal still knows that has no domain
 * event stream, i.e. one started before `patched('domain-events')` (docs/events.md "Upgrading"). Without it such a
 * saga is missing from `GET /orders`, which lists the read model only.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Db } from 'mongodb';
import { getStateQuery } from '../../common/definitions';
import type { SagaType } from '../../common/domain-events';
import { ORDER_SAGA, type OrderState } from '../../common/order';
import { TRANSPORT_ORDER, type TransportOrderState } from '../../common/transport';
import { viewFromState, writeBackfilledView } from '../../store/saga-views';
import { compensatedState, sagaResult } from '../../common/saga-result';

const SAGA_TYPES: Record<string, SagaType> = { [ORDER_SAGA]: 'order', [TRANSPORT_ORDER]: 'transport-order' };

export interface BackfillResult {
  /** Saga workflows Temporal listed (one per workflow id). */
  listed: number;
  /** Views written (new, or a backfilled one refreshed). */
  written: number;
  /** Workflows whose state could not be read (no result, and the query failed: e.g. no worker running). */
  unreadable: string[];
}

/**
 * The saga's state: a completed run's result or a compensated run's (closed as failed with `SagaCompensated`), else
 * the `getState` query (answered by a worker, open or closed).
 */
async function readState(client: Client, run: WorkflowExecutionInfo): Promise<OrderState | TransportOrderState> {
  const handle = client.workflow.getHandle(run.workflowId, run.runId);
  if (run.status.name === 'FAILED') {
    const state = await handle.result().then(
      () => undefined,
      (err: unknown) => compensatedState<OrderState | TransportOrderState>(err),
    );
    if (state) return state;
  }
  if (run.status.name === 'COMPLETED') {
    return (await sagaResult(handle)) as OrderState | TransportOrderState;
  }
  return (await handle.query(getStateQuery)) as OrderState | TransportOrderState;
}

/**
 * Lists the saga workflows of our types on `taskQueue` (this deployment's: the namespace may hold others') and
 * writes a view marked `origin: 'backfill'` for each one that has no stream and no view projected from events.
 * Idempotent: run it again and it refreshes the backfilled views (an open saga's view is as of the last run).
 */
export async function backfillFromTemporal(db: Db, client: Client, taskQueue: string): Promise<BackfillResult> {
  const types = Object.keys(SAGA_TYPES)
    .map((t) => `'${t}'`)
    .join(', ');
  const query = `WorkflowType IN (${types}) AND TaskQueue = '${taskQueue.replace(/'/g, "\\'")}'`;
  // Newest run first per workflow id (a reset makes more than one); the view names the first run.
  const byWorkflowId = new Map<string, { latest: WorkflowExecutionInfo; first: WorkflowExecutionInfo }>();
  for await (const run of client.workflow.list({ query })) {
    const seen = byWorkflowId.get(run.workflowId);
    if (!seen) byWorkflowId.set(run.workflowId, { latest: run, first: run });
    else if (run.startTime > seen.latest.startTime) seen.latest = run;
    else if (run.startTime < seen.first.startTime) seen.first = run;
  }
  const result: BackfillResult = { listed: byWorkflowId.size, written: 0, unreadable: [] };
  for (const [workflowId, { latest, first }] of [...byWorkflowId].sort(([a], [b]) => a.localeCompare(b))) {
    let state: OrderState | TransportOrderState;
    try {
      state = await readState(client, latest);
    } catch {
      result.unreadable.push(workflowId);
      continue;
    }
    const view = viewFromState(
      state,
      {
        sagaType: SAGA_TYPES[latest.type]!,
        workflowId,
        runId: first.runId,
        startTime: first.startTime,
        closeTime: latest.closeTime,
      },
      new Date(),
    );
    if (await writeBackfilledView(db, view)) result.written += 1;
  }
  return result;
}

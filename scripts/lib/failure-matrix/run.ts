/**
 * Runs the failure matrix's applicable cells (cells.ts) on the real servers, one saga per cell, one cell at a time,
 * and checks each as Temporal and MongoDB record it:
 *
 *   seed the participants ─▶ snapshot their documents ─▶ arm the fault for this saga (faults.ts) ─▶ start it by the API
 *     ─▶ (cancel: when the step runs, cancel it by the API; a wait: reject it, or let its short deadline pass)
 *     ─▶ its state (getState) reaches a final status ─▶ its late attempts finish
 *     ─▶ checks: COMPENSATED, `failure` names the step and the expected type; the compensations scheduled in its
 *        history are exactly the started compensatable steps', in reverse; the documents are as before.
 *
 * A kill cell (`runKillCell`) runs instead on worker processes: one killed after the step's effect, a fresh one that
 * must complete the saga with nothing compensated and each effect applied once.
 *
 * The outcome is read through the state query, not the workflow's result, so that it does not depend on how a
 * COMPENSATED saga closes. The worker runs with call limits (SAGA_CALL_LIMITS' `CallLimits`), so that a timeout or
 * retries running out take seconds.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Db } from 'mongodb';
import { getStateQuery } from '../../../common/definitions';
import { SagaStatus, type SagaState } from '../../../common/saga-state';
import type { TransportOrderState } from '../../../common/transport';
import { executedActivities, http, type Harness } from '../../../test/support/harness';
import { Gate } from '../../../test/support/saga-hooks';
import type { CallLimits } from '../../../workers/interceptors/call-limits';
import type { SagaDefinition, SagaNode } from '../../../workflows/saga/definition';
import { HOLDING } from '../../../workers/interceptors/fault-injection';
import { startWorkerProcess } from '../chaos';
import type { ManagedProcess } from '../processes';
import { waitForLogLine } from '../processes';
import { pollUntil, waitForSagaStatus } from '../wait';
import { FailureKind, type ApplicableCell, type Cell } from './cells';
import type { MatrixFaults } from './faults';

/** The limits the matrix's worker runs with: a call times out in 1.5 s, a step runs out of its 3 attempts in ~0.3 s. */
export const matrixCallLimits: Required<CallLimits> = {
  startToCloseMs: 1500,
  retryIntervalMs: 100,
  maximumAttempts: 3,
};

export type CellOutcome =
  | { cell: Cell; result: 'shown'; ms: number }
  | { cell: Cell; result: 'failed'; why: string; ms: number }
  | { cell: Cell; result: 'n/a'; reason: string };

/** One saga of a fixture, its participants seeded, not started yet. */
export interface Seeded {
  workflowId: string;
  orderId: string;
  /** Its input. */
  body: Record<string, unknown>;
  /** The member a parallel group's fault hits: its item. */
  item?: string;
}

/** How the matrix makes a saga of one type, and where its participants keep their data. */
export interface Fixture {
  sagaType: string;
  definition: SagaDefinition<never>;
  /** Items of a parallel group per saga (the expected compensations count them). */
  members: number;
  /** Once per run: what every saga of the type shares (vehicles). */
  prepare(h: Harness): Promise<void>;
  /** Seeds a saga's own participants (`decisionTimeoutMs`: its wait's deadline). */
  seed(h: Harness, options: { decisionTimeoutMs: number }): Promise<Seeded>;
  /** Starts the seeded saga; what went wrong, if anything. */
  start(h: Harness, seeded: Seeded): Promise<string | undefined>;
  /** `<apiPath(orderId)>/cancel`, `/reject` act on the saga. */
  apiPath(orderId: string): string;
  /** The saga's own records that must not be live after it compensated (collection → filter, with its orderId). */
  liveRecords: Record<string, Record<string, unknown>>;
}

/** Participant collections, with the tombstone fields (what undid what, kept against late duplicates) left out. */
const participantCollections: Record<string, readonly string[]> = {
  customers: ['creditReleased', 'createdAt'],
  products: ['stockReleased', 'createdAt'],
  vehicles: ['createdAt'],
  parcels: ['removed', 'createdAt'],
  transportVehicles: ['released', 'createdAt'],
};

/**
 * A vehicle's load per day without the days of load 0: a reservation undone leaves its day's counter at 0
 * (`$inc` of -1), which is the same capacity as no counter (a timed-out `reserveVehicle` whose late attempt landed).
 */
function withoutZeroLoads(doc: Record<string, unknown>): Record<string, unknown> {
  const load = doc['load'];
  if (load === null || typeof load !== 'object') return doc;
  return { ...doc, load: Object.fromEntries(Object.entries(load).filter(([, n]) => n !== 0)) };
}

/** The participants' documents, as their business sees them (holds, stock, loads, reservations). */
async function snapshot(db: Db, fixture: Fixture, orderId: string): Promise<Record<string, unknown>> {
  const shot: Record<string, unknown> = {};
  for (const [name, tombstones] of Object.entries(participantCollections)) {
    const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
    const kept = docs.map((doc) => Object.fromEntries(Object.entries(doc).filter(([k]) => !tombstones.includes(k))));
    shot[name] = name === 'vehicles' ? kept.map(withoutZeroLoads) : kept;
  }
  for (const [name, filter] of Object.entries(fixture.liveRecords)) {
    shot[`live ${name}`] = await db.collection(name).countDocuments({ orderId, ...filter });
  }
  return shot;
}

function firstDifference(before: Record<string, unknown>, after: Record<string, unknown>): string | undefined {
  for (const key of Object.keys(before)) {
    const [b, a] = [before[key], after[key]];
    if (isDeepStrictEqual(b, a)) continue;
    if (Array.isArray(b) && Array.isArray(a)) {
      const i = b.findIndex((doc, n) => !isDeepStrictEqual(doc, a[n]));
      const at = i >= 0 ? i : b.length;
      return `${key}: ${JSON.stringify(b[at] ?? null)} became ${JSON.stringify(a[at] ?? null)}`;
    }
    return `${key}: ${JSON.stringify(b)} became ${JSON.stringify(a)}`;
  }
  return undefined;
}

/** Every compensation activity a definition names (its variants' too): what the history is searched for. */
function compensationNames(definition: SagaDefinition<never>): Set<string> {
  const names = new Set<string>();
  for (const node of definition.nodes) {
    if (node.type === 'wait') continue;
    if (node.compensation) names.add(node.compensation.activity);
    if (node.type === 'step')
      for (const v of node.variants ?? []) if (v.compensation) names.add(v.compensation.activity);
  }
  return names;
}

const stepNameOf = (node: SagaNode, item: string | undefined): string =>
  node.type === 'parallel' && item !== undefined ? node.member(item) : node.name;

async function runCell(h: Harness, faults: MatrixFaults, fixture: Fixture, cell: ApplicableCell): Promise<string[]> {
  const problems: string[] = [];
  const { row, kind } = cell;
  const { node } = row;
  const seeded = await fixture.seed(h, {
    decisionTimeoutMs: node.type === 'wait' && kind === FailureKind.timeout ? 1000 : 600_000,
  });
  const { workflowId, orderId } = seeded;
  const before = await snapshot(h.db, fixture, orderId);
  const gate = kind === FailureKind.cancel && node.type !== 'wait' ? new Gate() : undefined;
  if (row.activity && node.type !== 'wait') {
    faults.arm(workflowId, {
      activity: row.activity,
      kind,
      ...(node.type === 'parallel' && seeded.item !== undefined ? { item: seeded.item } : {}),
      ...(cell.businessType ? { businessType: cell.businessType } : {}),
      ...(gate ? { gate } : {}),
      overrunMs: matrixCallLimits.startToCloseMs + 500,
    });
  }
  const handle = h.client.workflow.getHandle(workflowId);
  try {
    const refused = await fixture.start(h, seeded);
    if (refused) return [refused];
    if (node.type === 'wait') {
      if (kind !== FailureKind.timeout) {
        await pollUntil(
          `${workflowId} waits for a decision`,
          () => handle.query(getStateQuery) as Promise<TransportOrderState>,
          (s) => Boolean(s.pendingDecision) || s.status !== SagaStatus.RUNNING,
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        const action = kind === FailureKind.business ? 'reject' : 'cancel';
        const answer = await http(h.baseUrl, 'POST', `${fixture.apiPath(orderId)}/${action}`);
        if (answer.status !== 202) problems.push(`${action} answered ${answer.status}`);
      }
    } else if (gate) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        gate.entered,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the step never ran')), 30_000))),
      ]).finally(() => clearTimeout(timer));
      const answer = await http(h.baseUrl, 'POST', `${fixture.apiPath(orderId)}/cancel`);
      if (answer.status !== 202) problems.push(`cancel answered ${answer.status}`);
      // Held until the saga saw the cancellation (a local step: at its workflow task's next heartbeat).
      await pollUntil(
        `${workflowId} sees its cancellation`,
        () => handle.query(getStateQuery),
        (s) => s.cancelled || s.status !== SagaStatus.RUNNING,
        { timeoutMs: 30_000, intervalMs: 200 },
      ).catch((err: unknown) => problems.push((err as Error).message));
      gate.release();
    }
    const state = await waitForSagaStatus<SagaState>(
      handle,
      [SagaStatus.COMPENSATED, SagaStatus.COMPLETED, SagaStatus.FAILED],
      { timeoutMs: 90_000 },
    );
    faults.disarm(workflowId);
    await faults.settled(workflowId);
    const after = await snapshot(h.db, fixture, orderId);

    if (state.status !== SagaStatus.COMPENSATED) problems.push(`ended ${state.status}`);
    const step = stepNameOf(node, seeded.item);
    if (state.failure?.step !== step) problems.push(`failure.step is ${state.failure?.step ?? null}, not ${step}`);
    if (state.failure?.type !== cell.expectedFailureType) {
      problems.push(`failure.type is ${state.failure?.type ?? null}, not ${cell.expectedFailureType}`);
    }
    const names = compensationNames(fixture.definition);
    const ran = (await executedActivities(handle)).filter((a) => names.has(a.name)).map((a) => a.name);
    if (!isDeepStrictEqual(ran, cell.expectedCompensations)) {
      problems.push(`compensations [${ran.join(', ')}], not [${cell.expectedCompensations.join(', ')}]`);
    }
    const changed = firstDifference(before, after);
    if (changed) problems.push(`data changed: ${changed}`);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    faults.disarm(workflowId);
    // A saga that did not settle as it should must not keep the matrix's worker busy.
    if (problems.length > 0) await handle.terminate('the failure matrix cell failed').catch(() => undefined);
  }
  return problems;
}

/**
 * What a saga's effects leave unchanged in a participant's document however many there are, as long as each was
 * applied once: the counter plus what its holds record (credit, stock), a vehicle's load less its bookings. An
 * effect applied twice under one key takes the counter twice and records one hold.
 */
const balances: Record<string, (doc: Record<string, unknown>) => number> = {
  customers: (doc) => Number(doc.creditAvailableCents) + sumOf(doc.creditHolds),
  products: (doc) => Number(doc.stock) + sumOf(doc.stockHolds),
  vehicles: (doc) => sumOf(doc.load) - Object.keys((doc.bookings as object | undefined) ?? {}).length,
};

function sumOf(map: unknown): number {
  return Object.values((map as Record<string, unknown> | undefined) ?? {}).reduce<number>(
    (sum, v) => sum + Number(v),
    0,
  );
}

/** Where an effect was applied more than once: a balance that moved, a record of the saga that is not one. */
function appliedTwice(
  fixture: Fixture,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): string | undefined {
  for (const [name, balance] of Object.entries(balances)) {
    const [b, a] = [before[name], after[name]] as Record<string, unknown>[][];
    for (const doc of b ?? []) {
      const later = a?.find((d) => d._id === doc._id);
      if (later && balance(later) !== balance(doc)) {
        return `${name} ${String(doc._id)}: its balance moved from ${balance(doc)} to ${balance(later)}`;
      }
    }
  }
  for (const name of Object.keys(fixture.liveRecords)) {
    if (after[`live ${name}`] !== 1) return `${String(after[`live ${name}`])} live ${name}, not 1`;
  }
  return undefined;
}

/** How a kill cell starts its worker processes: their environment (SAGA_FAULTS left out) and where they log. */
export interface KillWorkers {
  env: NodeJS.ProcessEnv;
  logDir: string;
}

/**
 * A kill cell: the saga runs on a worker process holding the step's first attempt after its effect
 * (`SAGA_FAULTS=<activity>:hold=1`); once that worker logs the hold, it is SIGKILLed and a fresh worker (no faults)
 * takes over. The killed attempt times out (a local step: its workflow task does), the step is retried, finds its
 * effect, and the saga must COMPLETE (a wait on the way approved) with nothing compensated and each effect once.
 * The harness's own worker must not poll meanwhile.
 */
async function runKillCell(
  h: Harness,
  fixture: Fixture,
  cell: ApplicableCell,
  workers: KillWorkers,
): Promise<string[]> {
  const problems: string[] = [];
  const { row } = cell;
  const seeded = await fixture.seed(h, { decisionTimeoutMs: 600_000 });
  const { workflowId, orderId } = seeded;
  const before = await snapshot(h.db, fixture, orderId);
  const handle = h.client.workflow.getHandle(workflowId);
  const log = (n: number) => path.join(workers.logDir, `failure-matrix-worker-${workflowId}-${n}.log`);
  const waits = fixture.definition.nodes
    .slice(fixture.definition.nodes.indexOf(row.node))
    .filter((n) => n.type === 'wait');
  let first: ManagedProcess | undefined;
  let fresh: ManagedProcess | undefined;
  try {
    first = await startWorkerProcess({ ...workers.env, SAGA_FAULTS: `${row.activity}:hold=1` }, log(1));
    const refused = await fixture.start(h, seeded);
    if (refused) return [refused];
    await waitForLogLine(first, HOLDING, 30_000);
    await first.kill9();
    fresh = await startWorkerProcess(workers.env, log(2));
    if (waits.length > 0) {
      await pollUntil(
        `${workflowId} waits for a decision`,
        () => handle.query(getStateQuery) as Promise<TransportOrderState>,
        (s) => Boolean(s.pendingDecision) || s.status !== SagaStatus.RUNNING,
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const answer = await http(h.baseUrl, 'POST', `${fixture.apiPath(orderId)}/approve`);
      if (answer.status !== 202) problems.push(`approve answered ${answer.status}`);
    }
    const state = await waitForSagaStatus<SagaState>(
      handle,
      [SagaStatus.COMPENSATED, SagaStatus.COMPLETED, SagaStatus.FAILED],
      { timeoutMs: 90_000 },
    );
    if (state.status !== cell.expectedStatus) problems.push(`ended ${state.status}`);
    if (state.failure) problems.push(`failure ${state.failure.type} at ${state.failure.step}`);
    const names = compensationNames(fixture.definition);
    const ran = (await executedActivities(handle)).filter((a) => names.has(a.name)).map((a) => a.name);
    if (ran.length > 0) problems.push(`compensations [${ran.join(', ')}] ran`);
    const twice = appliedTwice(fixture, before, await snapshot(h.db, fixture, orderId));
    if (twice) problems.push(`not applied once: ${twice}`);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    if (problems.length > 0) await handle.terminate('the failure matrix cell failed').catch(() => undefined);
    await first?.kill9();
    await fresh?.stop();
  }
  return problems;
}

/**
 * Runs the cells, one saga each; an inapplicable cell is reported with its reason. The kill cells run last, on worker
 * processes (`workers`), the harness's worker stopped meanwhile (one worker process writes to FerretDB at a time);
 * the outcomes come back in the cells' order.
 */
export async function runCells(
  h: Harness,
  faults: MatrixFaults,
  fixture: Fixture,
  cells: readonly Cell[],
  onCell: (outcome: CellOutcome) => void = () => undefined,
  workers?: KillWorkers,
): Promise<CellOutcome[]> {
  const outcomes = new Map<Cell, CellOutcome>();
  await fixture.prepare(h);
  const isKill = (c: Cell) => c.applicable && c.kind === FailureKind.kill;
  let stopped = false;
  try {
    for (const cell of [...cells.filter((c) => !isKill(c)), ...cells.filter(isKill)]) {
      const outcome = await runOne(h, faults, fixture, cell, workers, async () => {
        if (!stopped) await h.stopWorker();
        stopped = true;
      });
      outcomes.set(cell, outcome);
      onCell(outcome);
    }
  } finally {
    if (stopped) await h.startWorker();
  }
  return cells.map((c) => outcomes.get(c)!);
}

async function runOne(
  h: Harness,
  faults: MatrixFaults,
  fixture: Fixture,
  cell: Cell,
  workers: KillWorkers | undefined,
  stopHarnessWorker: () => Promise<void>,
): Promise<CellOutcome> {
  if (!cell.applicable) return { cell, result: 'n/a', reason: cell.reason };
  const began = Date.now();
  const run = async (): Promise<string[]> => {
    if (cell.kind !== FailureKind.kill) return runCell(h, faults, fixture, cell);
    if (!workers) return ['a kill cell needs worker processes (KillWorkers)'];
    await stopHarnessWorker();
    return runKillCell(h, fixture, cell, workers);
  };
  const problems = await run().catch((err: unknown) => [err instanceof Error ? err.message : String(err)]);
  const ms = Date.now() - began;
  return problems.length === 0
    ? { cell, result: 'shown', ms }
    : { cell, result: 'failed', why: problems.join('; '), ms };
}

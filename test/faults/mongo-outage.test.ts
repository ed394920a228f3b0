import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chaosTable, runChaos } from '../../scripts/lib/chaos';
import { freePort, repoRoot, startFerretDb, type FerretDb } from '../../scripts/lib/servers';
import { requireEnv } from '../support/harness';

/**
 * The MongoDB-compatible server goes away while sagas are mid-way and comes back (same data directory, same
 * port): activities fail, retry with backoff and succeed once it is back; nothing is left half-written. A
 * FerretDB of its own, not the one `npm test` started.
 *
 * Timing, chosen so that the outage cannot miss the activities on a slow, loaded machine:
 * - Every activity attempt waits STEP_DELAY_MS before its first database call, so a saga takes at least
 *   3 × STEP_DELAY_MS (at least 6 × when it completes): the outage, 0.5–2.5 s after half the sagas started,
 *   lands while they are mid-way, and each saga in progress makes a database call soon after it.
 * - A database call waits at most 5 s for the server (`serverSelectionTimeoutMS` in `store/db.ts`). A call
 *   made up to DOWNTIME_MS − 5 s after the server went away (7 s here, against STEP_DELAY_MS plus a workflow
 *   task's latency) therefore fails instead of waiting the outage out: the activity really fails, then retries.
 */
const STEP_DELAY_MS = 1_000;
const DOWNTIME_MS = 12_000;

const id = randomUUID().slice(0, 8);
const dataDir = path.join(repoRoot, '.data', `test-mongo-outage-${id}`);
const logDir = path.join(repoRoot, '.data', 'logs');
const logFile = path.join(logDir, `test-mongo-outage-${id}.log`);
const taskQueue = `test-outage-${id}`;
let ferret: FerretDb | undefined;

afterAll(async () => {
  await ferret?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface LoggedFailure {
  at: number;
  type: string;
  nonRetryable: boolean;
  /** FerretDB's SQLite backend answered SQLITE_BUSY. */
  busy: boolean;
}

/**
 * The activity failures the worker logged (`runChaos` writes its log to chaos-worker-<task queue>-<n>.log): the
 * SDK's "Activity failed" lines, JSON (docs/operations.md, "Logs"), with the failure's type (attempt reporting
 * names it after the error: `MongoServerSelectionError`…) and whether it was retryable.
 */
function workerActivityFailures(): LoggedFailure[] {
  const lines = fs
    .readdirSync(logDir)
    .filter((f) => f.startsWith(`chaos-worker-${taskQueue}-`))
    .flatMap((f) => fs.readFileSync(path.join(logDir, f), 'utf8').split('\n'))
    .filter((line) => line.startsWith('{'));
  return lines
    .map((line) => JSON.parse(line) as LoggedLine)
    .filter((line) => line.msg === 'Activity failed')
    .map((line) => ({
      at: Date.parse(line.time),
      type: line.err?.failureType ?? '?',
      nonRetryable: line.err?.nonRetryable === true,
      busy: /database is locked|SQLITE_BUSY/.test(line.err?.message ?? ''),
    }));
}

/** What the test reads of one line of the worker's log. */
interface LoggedLine {
  time: string;
  msg: string;
  err?: { failureType?: string; nonRetryable?: boolean; message?: string };
}

test('MongoDB unreachable for a while mid-sagas: activities fail, retry and succeed once it is back, effects exact', async () => {
  const port = await freePort();
  const options = { port, dataDir, logFile };
  ferret = await startFerretDb({ ...options, truncateLog: true });
  let down: { from: number; to: number } | undefined;
  const result = await runChaos({
    temporalAddress: requireEnv('TEMPORAL_ADDRESS'),
    mongoUri: ferret.uri,
    dbName: `outage_${id}`,
    taskQueue,
    sagas: 16,
    kills: 0,
    faults: `*:delayMs=${STEP_DELAY_MS}`, // no injected failures: every failed attempt comes from the outage
    seed: 20_251_125, // the same orders and the same moment of the outage every run
    serverRestarts: 1,
    servers: [
      {
        name: 'FerretDB',
        restart: async (downtimeMs) => {
          // The outage starts when the server starts going away, not when its process has exited: FerretDB
          // refuses and drops connections while it stops (seconds on a busy machine, and with domain events more
          // of the sagas' writes are in flight then: failures up to 3 s before the exit were seen).
          const from = Date.now();
          await ferret!.stop();
          ferret = undefined;
          await new Promise((resolve) => setTimeout(resolve, downtimeMs));
          ferret = await startFerretDb(options);
          down = { from, to: Date.now() };
        },
      },
    ],
    downtimeMs: DOWNTIME_MS,
    workflowBundlePath: requireEnv('WORKFLOW_BUNDLE_PATH'),
    logDir,
    timeoutMs: 150_000,
  });
  console.log(chaosTable(result));

  expect(result.serverRestarts).toBe(1);
  expect(result.inProgressAtFaults[0]).toBeGreaterThan(0);
  expect(result.started).toBe(16);
  expect({ stillRunning: result.stillRunning, failed: result.failed }).toEqual({ stillRunning: 0, failed: 0 });

  // Activities did fail while the server was down, and only because of it: every retryable failure the worker
  // logged is the MongoDB driver's, and happened between the server going away and its answering again.
  const failures = workerActivityFailures();
  const retryable = failures.filter((f) => !f.nonRetryable);
  expect(retryable.length).toBeGreaterThan(0);
  expect(retryable.filter((f) => !/^Mongo\w*Error$/.test(f.type))).toEqual([]);
  // Once it is back, every saga's retried writes arrive at once, and FerretDB's SQLite backend can answer a few of
  // them SQLITE_BUSY ("database is locked", seen 17-20 s after its restart on a loaded machine): the outage's tail,
  // retried like the rest, allowed for 30 s.
  const during = (f: LoggedFailure) =>
    (f.at >= down!.from - 2_000 && f.at <= down!.to + 2_000) ||
    (f.busy && f.at > down!.to && f.at <= down!.to + 30_000);
  const outside = retryable.filter((f) => !during(f));
  expect({ outside, down }).toEqual({ outside: [], down });

  // ... and then succeeded: steps and compensations whose last attempt (> 1, as the sagas' getState reports it)
  // completed. Nothing else retries in this run, so each one is an activity that outlived the outage.
  const steps = result.states.flatMap((s) => s?.steps ?? []);
  const recovered = steps.filter(
    (s) =>
      (s.attempts > 1 && s.completedAt !== null && s.error === null) ||
      (s.compensationAttempts > 1 && s.compensatedAt !== null),
  );
  expect(recovered.length).toBeGreaterThan(0);

  // Nothing half-written: the participants' data accounts exactly for the completed sagas.
  expect(result.invariants.checks.filter((c) => !c.ok)).toEqual([]);
  expect(result.invariants.effectsLost + result.invariants.effectsDuplicated).toBe(0);
}, 240_000);

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
 */
const id = randomUUID().slice(0, 8);
const dataDir = path.join(repoRoot, '.data', `test-mongo-outage-${id}`);
const logFile = path.join(repoRoot, '.data', 'logs', `test-mongo-outage-${id}.log`);
let ferret: FerretDb | undefined;

afterAll(async () => {
  await ferret?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('MongoDB unreachable for a while mid-sagas: activities retry and succeed once it is back, effects exact', async () => {
  const port = await freePort();
  const options = { port, dataDir, logFile };
  ferret = await startFerretDb({ ...options, truncateLog: true });
  const result = await runChaos({
    temporalAddress: requireEnv('TEMPORAL_ADDRESS'),
    mongoUri: ferret.uri,
    dbName: `outage_${id}`,
    taskQueue: `test-outage-${id}`,
    sagas: 16,
    kills: 0,
    faults: '*:delayMs=300', // no random faults: every retry comes from the outage
    serverRestarts: 1,
    servers: [
      {
        name: 'FerretDB',
        restart: async (downtimeMs) => {
          await ferret!.stop();
          ferret = undefined;
          await new Promise((resolve) => setTimeout(resolve, downtimeMs));
          ferret = await startFerretDb(options);
        },
      },
    ],
    downtimeMs: 7_000, // longer than the driver's 5 s server selection: operations fail and retry
    workflowBundlePath: requireEnv('WORKFLOW_BUNDLE_PATH'),
    logDir: path.join(repoRoot, '.data', 'logs'),
    timeoutMs: 120_000,
  });
  console.log(chaosTable(result));

  expect(result.serverRestarts).toBe(1);
  expect(result.inProgressAtFaults[0]).toBeGreaterThan(0);
  expect(result.retriedSteps).toBeGreaterThan(0); // activities did fail while it was down, and retried
  expect(result.started).toBe(16);
  expect({ stillRunning: result.stillRunning, failed: result.failed }).toEqual({ stillRunning: 0, failed: 0 });
  expect(result.invariants.checks.filter((c) => !c.ok)).toEqual([]);
  expect(result.invariants.effectsLost + result.invariants.effectsDuplicated).toBe(0);
}, 180_000);

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chaosTable, runChaos } from '../../scripts/lib/chaos';
import { freePort, repoRoot, startTemporalDevServer, type TemporalDevServer } from '../../scripts/lib/servers';
import { requireEnv } from '../support/harness';

/**
 * The Temporal dev server is stopped while sagas are mid-way and started again on the same SQLite file and port:
 * the sagas continue from where they were. A server of its own (file-backed), not the one `npm test` started.
 */
const id = randomUUID().slice(0, 8);
const dataDir = path.join(repoRoot, '.data', `test-temporal-restart-${id}`);
const logFile = path.join(repoRoot, '.data', 'logs', `test-temporal-restart-${id}.log`);
let server: TemporalDevServer | undefined;

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('Temporal dev server stopped mid-sagas and started again on the same database file: every saga settles, effects exact', async () => {
  const [port, uiPort] = [await freePort(), await freePort()];
  server = await startTemporalDevServer({
    port,
    uiPort,
    dbFile: path.join(dataDir, 'temporal.db'),
    logFile,
    truncateLog: true,
  });
  const result = await runChaos({
    temporalAddress: server.address,
    mongoUri: requireEnv('MONGODB_URI'),
    dbName: `${requireEnv('MONGODB_DB')}_trestart_${id}`.slice(0, 60),
    taskQueue: `test-trestart-${id}`,
    sagas: 16,
    kills: 0,
    faults: '*:delayMs=300', // no random faults: only the restart
    serverRestarts: 1,
    servers: [{ name: 'Temporal dev server', restart: (downtimeMs) => server!.restart(downtimeMs) }],
    downtimeMs: 2_000,
    workflowBundlePath: requireEnv('WORKFLOW_BUNDLE_PATH'),
    logDir: path.join(repoRoot, '.data', 'logs'),
    timeoutMs: 120_000,
    dropDatabase: true,
  });
  console.log(chaosTable(result));

  expect(result.serverRestarts).toBe(1);
  expect(result.inProgressAtFaults[0]).toBeGreaterThan(0); // stopped while sagas were mid-way
  expect(result.started).toBe(16);
  expect({ stillRunning: result.stillRunning, failed: result.failed }).toEqual({ stillRunning: 0, failed: 0 });
  expect(result.invariants.checks.filter((c) => !c.ok)).toEqual([]);
  expect(result.invariants.effectsLost + result.invariants.effectsDuplicated).toBe(0);
}, 180_000);

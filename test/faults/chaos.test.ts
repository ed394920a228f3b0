import { randomUUID } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import path from 'node:path';
import { chaosTable, runChaos } from '../../scripts/lib/chaos';
import { checkInvariants } from '../../scripts/lib/invariants';
import { repoRoot } from '../../scripts/lib/servers';
import { collections, connectMongo } from '../../store/db';
import { requireEnv } from '../support/harness';

/**
 * A small run of the `npm run chaos` scenario against the servers `npm test` started: concurrent sagas with random
 * business failures and random transient faults (SAGA_FAULTS), while the worker process is killed with SIGKILL
 * mid-step and started again.
 */
let mongo: MongoClient;
beforeAll(async () => {
  mongo = (await connectMongo(requireEnv('MONGODB_URI'), 'unused')).client;
});
const dropped: string[] = [];
afterAll(async () => {
  for (const name of dropped) await mongo.db(name).dropDatabase();
  await mongo?.close();
});

test('40 sagas, worker SIGKILLed mid-step and restarted, random faults: every saga final, no effect lost or applied twice', async () => {
  const id = randomUUID().slice(0, 8);
  const dbName = `${requireEnv('MONGODB_DB')}_chaos_${id}`.slice(0, 60);
  dropped.push(dbName);
  const result = await runChaos({
    temporalAddress: requireEnv('TEMPORAL_ADDRESS'),
    mongoUri: requireEnv('MONGODB_URI'),
    dbName,
    taskQueue: `test-chaos-${id}`,
    sagas: 40,
    kills: 1,
    workflowBundlePath: requireEnv('WORKFLOW_BUNDLE_PATH'),
    logDir: path.join(repoRoot, '.data', 'logs'),
    timeoutMs: 120_000,
  });
  const table = chaosTable(result);
  console.log(table);

  expect(result.started).toBe(40);
  expect(result.workerKills).toBe(1);
  expect(result.inProgressAtFaults[0]).toBeGreaterThan(0); // the kill landed while sagas were mid-way
  expect({ stillRunning: result.stillRunning, failed: result.failed }).toEqual({ stillRunning: 0, failed: 0 });
  expect(result.completed + result.compensated).toBe(40);
  // The mix really is mixed, and the injected faults really fired.
  expect(result.completed).toBeGreaterThan(5);
  expect(result.compensated).toBeGreaterThan(5);
  expect(result.retriedSteps).toBeGreaterThan(0);
  expect(result.invariants.checks.filter((c) => !c.ok)).toEqual([]);
  expect(result.invariants.effectsLost).toBe(0);
  expect(result.invariants.effectsDuplicated).toBe(0);

  // And the checks do see a lost or a doubled effect: remove a completed saga's shipment, charge a compensated one.
  const completed = result.outcomes.find((o) => o.status === 'COMPLETED')!;
  const compensated = result.outcomes.find((o) => o.status === 'COMPENSATED')!;
  const cols = collections(mongo.db(dbName));
  await cols.shipments.deleteOne({ orderId: completed.orderId, status: 'CREATED' });
  await cols.payments.insertOne({
    _id: `${compensated.orderId}:double`,
    status: 'CHARGED',
    orderId: compensated.orderId,
    customerId: compensated.customerId,
    amountCents: 100,
    chargedAt: new Date(),
  });
  const broken = await checkInvariants(mongo.db(dbName), result.outcomes, result.baseline);
  expect({ lost: broken.effectsLost, duplicated: broken.effectsDuplicated }).toEqual({ lost: 1, duplicated: 1 });
  expect(broken.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
    'payments charged: one per completed saga, none for a compensated one',
    'shipments created: one per completed saga, none for a compensated one',
    'ledger: charged amounts = completed totals',
  ]);
}, 180_000);

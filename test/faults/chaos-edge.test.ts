import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { MongoClient } from 'mongodb';
import { chaosTable, runChaos } from '../../scripts/lib/chaos';
import { freePort, repoRoot, startRabbitMq, type RabbitMq } from '../../scripts/lib/servers';
import { connectMongo } from '../../store/db';
import { requireEnv } from '../support/harness';

/**
 * A small run of `npm run chaos` with the event-driven edge (docs/faults.md): the outbox relay, the webhook
 * dispatcher and the carrier (CARRIER=broker) as child processes, RabbitMQ restarted once and the carrier process
 * SIGKILLed once besides a worker kill. RabbitMQ is one of this test's own (on free ports), since it is restarted.
 */
let mongo: MongoClient;
let rabbit: RabbitMq;
const dataDir = path.join(repoRoot, '.data', `chaos-edge-test-${process.pid}`);
beforeAll(async () => {
  mongo = (await connectMongo(requireEnv('MONGODB_URI'), 'unused')).client;
  rabbit = await startRabbitMq({
    port: await freePort(),
    distPort: await freePort(),
    nodeName: `sagas-chaos-test-${process.pid}`,
    dataDir,
    logFile: path.join(repoRoot, '.data', 'logs', `chaos-edge-rabbitmq-${process.pid}.log`),
    truncateLog: true,
  });
}, 120_000);
const dropped: string[] = [];
afterAll(async () => {
  for (const name of dropped) await mongo.db(name).dropDatabase();
  await mongo?.close();
  await rabbit?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('30 sagas, RabbitMQ restarted, carrier and worker SIGKILLed: every event stored once per saga in order, published, and delivered by webhook or recorded as failed', async () => {
  const id = randomUUID().slice(0, 8);
  const dbName = `${requireEnv('MONGODB_DB')}_chaosedge_${id}`.slice(0, 60);
  dropped.push(dbName);
  const result = await runChaos({
    temporalAddress: requireEnv('TEMPORAL_ADDRESS'),
    mongoUri: requireEnv('MONGODB_URI'),
    dbName,
    taskQueue: `test-chaos-edge-${id}`,
    sagas: 30,
    kills: 1,
    workflowBundlePath: requireEnv('WORKFLOW_BUNDLE_PATH'),
    logDir: path.join(repoRoot, '.data', 'logs'),
    timeoutMs: 240_000,
    edge: {
      amqpUrl: rabbit.url,
      carrier: 'broker',
      carrierKills: 1,
      brokerRestarts: 1,
      broker: { name: 'RabbitMQ', restart: (downtime) => rabbit.restart(downtime) },
    },
  });
  console.log(chaosTable(result));

  expect(result.started).toBe(30);
  expect({ worker: result.workerKills, carrier: result.carrierKills, broker: result.brokerRestarts }).toEqual({
    worker: 1,
    carrier: 1,
    broker: 1,
  });
  expect({ stillRunning: result.stillRunning, failed: result.failed }).toEqual({ stillRunning: 0, failed: 0 });
  expect(result.invariants.checks.filter((c) => !c.ok)).toEqual([]);
  expect(result.invariants.effectsLost).toBe(0);
  expect(result.invariants.effectsDuplicated).toBe(0);
  const edge = result.edge!;
  expect(edge.checks.map((c) => c.name)).toEqual([
    'events per saga complete: 1..n, SagaStarted first, the final status last',
    'events published = events stored (every stored event published, none not stored)',
    'events in order per saga (first deliveries in sequence order)',
    'webhooks: every stored event delivered (deduped by event id) or recorded as failed',
    'webhooks: every signature valid',
  ]);
  expect(edge.eventsStored).toBeGreaterThanOrEqual(30 * 3);
  expect(edge.eventsPublished).toBe(edge.eventsStored);
  expect(edge.webhooksDelivered + edge.webhooksFailed).toBe(edge.eventsStored);
  expect(edge.webhookRefusals).toBeGreaterThan(0); // the receiver's 500s were retried
}, 600_000);

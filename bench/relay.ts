/**
 * What the outbox relay (broker/outbox-relay.ts) costs and how fast it drains: a backlog of synthetic domain events
 * appended as the worker does (store/domain-events.ts `appendEvents`: marker, then event), then relayed to RabbitMQ
 * by the relay's rounds until the outbox is empty and a consumer bound to `saga.events` has every event.
 *
 *   npm run bench:relay
 *   npx tsx bench/relay.ts --streams 200 --events 10 --batch 100,500
 *
 * Its own FerretDB and RabbitMQ on free ports (scripts/lib/servers.ts), the relay in this process (its CPU is this
 * process's, minus the consumer's small share). Per batch size: events/s from the first round to the empty outbox,
 * this process's CPU seconds per 1000 events, rounds. Results: bench/results/relay.json and printed as a table.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { connectBroker } from '../broker/connection';
import { createOutboxRelay } from '../broker/outbox-relay';
import { createRelayMetrics } from '../broker/relay-metrics';
import { SAGA_EVENTS_EXCHANGE } from '../broker/topology';
import type { DomainEvent } from '../common/domain-events';
import { connectMongo } from '../store/db';
import { appendEvents, ensureDomainEventIndexes } from '../store/domain-events';
import { countOutboxMarkers } from '../store/outbox';
import { freePort, repoRoot, startFerretDb, startRabbitMq, stopAll } from '../scripts/lib/servers';
import { waitFor } from '../scripts/lib/wait';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const streams = Number(option('streams', '200'));
const perStream = Number(option('events', '10'));
const batchSizes = option('batch', '100,500').split(',').map(Number);

function syntheticStream(streamId: string, n: number): DomainEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'StepCompleted',
    version: 1,
    eventId: `${streamId}#${i + 1}`,
    sagaType: 'order',
    sagaId: streamId.slice('order-'.length),
    sequence: i + 1,
    occurredAt: new Date().toISOString(),
    data: { step: 'reserveCredit', compensation: 'releaseCredit', attempts: 1, startedAt: new Date().toISOString() },
  }));
}

async function main(): Promise<void> {
  const dir = path.join(repoRoot, '.data', 'bench', `relay-${Date.now()}`);
  const ferret = await startFerretDb({
    port: await freePort(),
    dataDir: path.join(dir, 'ferretdb'),
    logFile: path.join(dir, 'ferretdb.log'),
  });
  const rabbit = await startRabbitMq({
    port: await freePort(),
    distPort: await freePort(),
    nodeName: `sagas-bench-relay-${process.pid}`,
    dataDir: path.join(dir, 'rabbitmq'),
    logFile: path.join(dir, 'rabbitmq.log'),
  });
  const logger = pino({ level: 'warn' });
  const { client, db } = await connectMongo(ferret.uri, 'bench_relay');
  await ensureDomainEventIndexes(db);
  const broker = await connectBroker({ url: rabbit.url, logger, connectionName: 'bench' });
  let received = 0;
  await broker.addSetup(async (channel) => {
    await channel.assertQueue('bench.relay', { durable: true });
    await channel.bindQueue('bench.relay', SAGA_EVENTS_EXCHANGE, '#');
    await channel.consume('bench.relay', (msg) => {
      if (msg) {
        received += 1;
        channel.ack(msg);
      }
    });
  });
  const rows: Record<string, number>[] = [];
  for (const [run, batchSize] of batchSizes.entries()) {
    const total = streams * perStream;
    for (let i = 0; i < streams; i++) {
      const streamId = `order-bench-${run}-${i}`;
      await appendEvents(db, streamId, syntheticStream(streamId, perStream));
    }
    received = 0;
    const relay = createOutboxRelay({ db, broker, logger, metrics: createRelayMetrics(), pollMs: 100, batchSize });
    const cpu = process.cpuUsage();
    const started = performance.now();
    let rounds = 0;
    const phases = { scan: 0, read: 0, publish: 0, delete: 0 };
    for (;;) {
      const round = await relay.publishOnce();
      for (const key of Object.keys(phases) as (keyof typeof phases)[]) phases[key] += round.phasesMs[key];
      if (round.published === 0) break;
      rounds += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await waitFor('the consumer has every event', () => received >= total || `${received}/${total}`);
    const left = await countOutboxMarkers(db);
    if (left !== 0) throw new Error(`${left} markers left`);
    rows.push({
      batchSize,
      events: total,
      rounds,
      seconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Math.round(total / seconds),
      cpuSecondsPer1000: Number((((used.user + used.system) / 1e6 / total) * 1000).toFixed(3)),
      ...Object.fromEntries(Object.entries(phases).map(([k, v]) => [`${k}Seconds`, Number((v / 1000).toFixed(2))])),
    });
  }
  await broker.close();
  await client.close();
  await stopAll();
  const out = path.join(repoRoot, 'bench', 'results', 'relay.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ streams, perStream, rows, at: new Date().toISOString() }, null, 2)}\n`);
  console.table(rows);
  console.log(`written to ${path.relative(repoRoot, out)}`);
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});

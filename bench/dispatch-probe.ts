/**
 * Where a Temporal saga's time goes on the dev server, without our code: a workflow of three no-op activities,
 * run on fresh dev servers (WAL, as the benchmark), and per server the median time each workflow task waited
 * between `WorkflowTaskScheduled` and `WorkflowTaskStarted` (the server handing it to the worker's poll), the
 * median time of a whole workflow, and one workflow's event timeline.
 *
 *   npx tsx bench/dispatch-probe.ts [--servers 3] [--workflows 15] [--in-flight 1]
 *
 * Two variants, their servers interleaved (server defaults, shipped, server defaults, shipped, …): `server
 * defaults` is the dev server as the CLI configures it; `shipped` adds DEV_SERVER_DYNAMIC_CONFIG
 * (scripts/lib/servers.ts), what `npm start`, the tests and the benchmark run with. `--servers` is per variant.
 * `--in-flight N` keeps N workflows running at once (default 1: one at a time).
 * BENCH_TEMPORAL_DYNAMIC_CONFIG='key=value;…' adds dynamic config to both (bench/lib/servers.ts).
 * Prints figures; asserts nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { inLanes } from '../scripts/lib/lanes';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../scripts/lib/servers';
import { commandLine, runMain, wholeNumber } from './lib/cli';
import { startTemporal } from './lib/servers';
import { median } from './lib/stats';
import { sagaResult } from '../common/saga-result';

const { servers, workflows, inFlight } = commandLine(
  { servers: { type: 'string' }, workflows: { type: 'string' }, 'in-flight': { type: 'string' } },
  ({ values }) => ({
    servers: wholeNumber('servers', values.servers, 3, 1, 20),
    workflows: wholeNumber('workflows', values.workflows, 15, 1, 1000),
    inFlight: wholeNumber('in-flight', values['in-flight'], 1, 1, 64),
  }),
);

const variants = [
  { name: 'server defaults', serverDefaults: true },
  { name: `shipped (${DEV_SERVER_DYNAMIC_CONFIG.join(', ')})`, serverDefaults: false },
];

const ms = (e: temporal.api.history.v1.IHistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

const typeName = (e: temporal.api.history.v1.IHistoryEvent) =>
  (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace('EVENT_TYPE_', '');

interface Figures {
  waits: number[];
  totals: number[];
  timeline: string;
}

/** One fresh dev server: `workflows` probe workflows, `inFlight` at a time. */
async function probeServer(dir: string, serverDefaults: boolean): Promise<Figures> {
  const server = await startTemporal(fs.mkdtempSync(path.join(dir, 's')), 'wal', { serverDefaults });
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  const worker = await Worker.create({
    connection,
    taskQueue: 'probe',
    workflowsPath: require.resolve('./probe/workflows'),
    activities: { noop: () => Promise.resolve() },
  });
  const running = worker.run();
  const figures: Figures = { waits: [], totals: [], timeline: '' };
  let next = 0;
  await inLanes(
    inFlight,
    () => next < workflows,
    async () => {
      const n = next++;
      const t = performance.now();
      const handle = await client.workflow.start('threeNoops', { taskQueue: 'probe', workflowId: `probe-${n}` });
      await sagaResult(handle);
      figures.totals.push(performance.now() - t);
      const events = (await handle.fetchHistory()).events ?? [];
      events.forEach((e, k) => {
        if (e.workflowTaskStartedEventAttributes && k > 0) figures.waits.push(ms(e) - ms(events[k - 1]!));
      });
      if (n === workflows - 1) {
        const t0 = ms(events[0]!);
        figures.timeline = events
          .map((e) => `${String(e.eventId)}:${typeName(e)}@${(ms(e) - t0).toFixed(1)}`)
          .join(' ');
      }
    },
  );
  worker.shutdown();
  await running;
  await connection.close();
  await server.stop();
  return figures;
}

const describe = ({ waits, totals }: Pick<Figures, 'waits' | 'totals'>) =>
  `workflow task scheduled→started median ${median(waits).toFixed(1)} ms (min ${Math.min(...waits).toFixed(1)}, max ${Math.max(...waits).toFixed(1)}); whole workflow median ${median(totals).toFixed(0)} ms`;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dispatch-probe-'));
  console.log(
    `${servers} server(s) per variant, ${workflows} workflows each, ${inFlight} in flight; load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const all = variants.map(() => ({ waits: [] as number[], totals: [] as number[] }));
  for (let i = 0; i < servers; i++) {
    for (const [v, variant] of variants.entries()) {
      const figures = await probeServer(dir, variant.serverDefaults);
      console.log(`${variant.name}, server ${i}: ${describe(figures)}`);
      if (i === 0) console.log(`  one workflow's events (id:type@ms): ${figures.timeline}`);
      all[v]!.waits.push(...figures.waits);
      all[v]!.totals.push(...figures.totals);
    }
  }
  console.log(`all servers (load ${os.loadavg()[0]!.toFixed(1)}):`);
  for (const [v, variant] of variants.entries()) console.log(`  ${variant.name}: ${describe(all[v]!)}`);
}

runMain(main);

/**
 * Where a Temporal saga's time goes on the dev server, without our code: a workflow of three no-op activities,
 * run one at a time on fresh dev servers (WAL, as the benchmark), and per server the median time each workflow
 * task waited between `WorkflowTaskScheduled` and `WorkflowTaskStarted` (the server handing it to the worker's
 * poll), the median time of a whole workflow, and one workflow's event timeline.
 *
 *   npx tsx bench/dispatch-probe.ts [--servers 3] [--workflows 15]
 *
 * BENCH_TEMPORAL_DYNAMIC_CONFIG='key=value;…' passes dynamic config to the dev servers (bench/lib/servers.ts).
 * Prints figures; asserts nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { commandLine, runMain, wholeNumber } from './lib/cli';
import { startTemporal } from './lib/servers';
import { median } from './lib/stats';

const { servers, workflows } = commandLine(
  { servers: { type: 'string' }, workflows: { type: 'string' } },
  ({ values }) => ({
    servers: wholeNumber('servers', values.servers, 3, 1, 20),
    workflows: wholeNumber('workflows', values.workflows, 15, 1, 1000),
  }),
);

const ms = (e: temporal.api.history.v1.IHistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

const typeName = (e: temporal.api.history.v1.IHistoryEvent) =>
  (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace('EVENT_TYPE_', '');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dispatch-probe-'));
  for (let i = 0; i < servers; i++) {
    const server = await startTemporal(fs.mkdtempSync(path.join(dir, 's')), 'wal');
    const connection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection });
    const worker = await Worker.create({
      connection,
      taskQueue: 'probe',
      workflowsPath: require.resolve('./probe/workflows'),
      activities: { noop: () => Promise.resolve() },
    });
    const running = worker.run();
    const waits: number[] = [];
    const totals: number[] = [];
    let timeline = '';
    for (let n = 0; n < workflows; n++) {
      const t = performance.now();
      const handle = await client.workflow.start('threeNoops', { taskQueue: 'probe', workflowId: `probe-${n}` });
      await handle.result();
      totals.push(performance.now() - t);
      const events = (await handle.fetchHistory()).events ?? [];
      events.forEach((e, k) => {
        if (e.workflowTaskStartedEventAttributes && k > 0) waits.push(ms(e) - ms(events[k - 1]!));
      });
      if (n === workflows - 1) {
        const t0 = ms(events[0]!);
        timeline = events.map((e) => `${String(e.eventId)}:${typeName(e)}@${(ms(e) - t0).toFixed(1)}`).join(' ');
      }
    }
    console.log(
      `server ${i}: workflow task scheduled→started median ${median(waits).toFixed(1)} ms (min ${Math.min(...waits).toFixed(1)}, max ${Math.max(...waits).toFixed(1)}); whole workflow median ${median(totals).toFixed(0)} ms`,
    );
    if (i === 0) console.log(`  one workflow's events (id:type@ms): ${timeline}`);
    worker.shutdown();
    await running;
    await connection.close();
    await server.stop();
  }
}

runMain(main);

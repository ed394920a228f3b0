/**
 * A/B sweeps of our own engine's settings, in interleaved rounds so that a drifting machine load
 * falls on every variant alike. Each variant gets a fresh Temporal dev server (WAL) and its own
 * database on one FerretDB; the mix is fail10 (one saga in ten fails at a random step and
 * compensates; completed orders also signal the 200 customers' loyalty workflows, which stay cached).
 *
 *   npm run bench:sweep -- sizing     worker slots, pollers and workflow cache (workers/sizing.ts)
 *   npm run bench:sweep -- eager      eager workflow start, worker in the client's process
 *   npm run bench:sweep -- partitions one task queue partition instead of the default four
 *   npm run bench:sweep -- security   payload encryption and API authentication on and off (docs/security.md)
 *   npm run bench:sweep -- tracing    the worker's and the API's traces off and on, exported to a Jaeger it runs
 *   options: --rounds 3 --seconds 10 --unloaded 20 --loads 1,8,32,128 (1: the sagas one at a time; others in flight)
 *   npm run bench:sweep -- sizing --render    rewrite the Markdown from the JSON of the last run
 *
 * Per variant and load (one at a time; 8, 32 and 128 in flight, closed loop): the median over rounds
 * of sagas/s, p50 and p99 latency, CPU ms per saga of the Temporal server and of the worker, and the
 * worker's peak memory. Results: bench/results/sweep-<name>.{md,json}. Figures, never a pass/fail.
 */
import { generateKeyRingEnv } from '../codec/data-converter';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { MongoClient, type Db } from 'mongodb';
import { inLanes } from '../scripts/lib/lanes';
import { freePort, startFerretDb, startJaeger, type Jaeger } from '../scripts/lib/servers';
import { commandLine, runMain, UsageError, wholeNumber } from './lib/cli';
import { engines, type Engine } from './lib/engines';
import { loadAverage, treeCpuSeconds, treePeakMb } from './lib/procstat';
import { summarize } from './lib/stats';
import { fmt, LOADS, render, type Measure, type RoundResult, type Variant } from './lib/sweep-report';
import { checkAll, planOrder, seed, type PlannedOrder } from './lib/workload';

/** The SDK's own default cache size for this Node's heap (worker-options.d.ts, reuseV8Context on). */
const sdkDefaultCache = Math.max(
  Math.floor((Math.max(v8.getHeapStatistics().heap_size_limit / 2 ** 20 - 200, 0) * 600) / 1024),
  10,
);

const sizing = (wft: number, act: number, local: number, pollers: number, cache: number) => ({
  WORKER_WORKFLOW_TASK_SLOTS: String(wft),
  WORKER_ACTIVITY_SLOTS: String(act),
  WORKER_LOCAL_ACTIVITY_SLOTS: String(local),
  WORKER_POLLERS: String(pollers),
  WORKER_CACHED_WORKFLOWS: String(cache),
});

const sweeps: Record<string, Variant[]> = {
  sizing: [
    {
      label: 'sdk-defaults',
      engine: 'ours',
      env: sizing(40, 100, 100, 10, sdkDefaultCache),
      note: `the SDK's defaults: 40 workflow-task, 100 activity and 100 local-activity slots, 10 pollers, ${sdkDefaultCache} cached`,
    },
    { label: 'wft2', engine: 'ours', env: sizing(2, 4, 4, 2, 1000), note: '2 / 4 / 4 slots, 2 pollers, 1000 cached' },
    { label: 'wft4', engine: 'ours', env: sizing(4, 8, 8, 2, 1000), note: '4 / 8 / 8 slots, 2 pollers, 1000 cached' },
    {
      label: 'wft8',
      engine: 'ours',
      env: sizing(8, 16, 16, 4, 1000),
      note: '8 / 16 / 16 slots, 4 pollers, 1000 cached',
    },
    {
      label: 'wft8-cache100',
      engine: 'ours',
      env: sizing(8, 16, 16, 4, 100),
      note: '8 / 16 / 16 slots, 4 pollers, 100 cached (fewer than the parked loyalty workflows: evictions, replays)',
    },
  ],
  partitions: [
    {
      label: 'default-partitions',
      engine: 'ours',
      env: {},
      note: "the dev server's default task queue partitions (4)",
    },
    {
      label: 'one-partition',
      engine: 'ours',
      env: {
        BENCH_TEMPORAL_DYNAMIC_CONFIG: 'matching.numTaskqueueReadPartitions=1;matching.numTaskqueueWritePartitions=1',
      },
      note: 'one read and one write partition per task queue (dev server --dynamic-config-value)',
    },
  ],
  security: [
    {
      label: 'ours',
      engine: 'ours',
      env: {},
      note: 'the driver starts sagas on its Temporal client; payloads encrypted',
    },
    { label: 'ours-open', engine: 'ours-open', env: {}, note: 'the same with PAYLOAD_ENCRYPTION=off' },
    {
      label: 'ours-api',
      engine: 'ours-api',
      env: {},
      note: 'worker and API processes, each saga started by POST /orders with a bearer API key; payloads encrypted',
    },
    {
      label: 'ours-api-open',
      engine: 'ours-api-open',
      env: {},
      note: 'the same with PAYLOAD_ENCRYPTION=off and API_AUTH=off (no header)',
    },
  ],
  tracing: [
    {
      label: 'api-untraced',
      engine: 'ours-api',
      env: {},
      note: 'worker and API processes, each saga started by POST /orders; no OTEL_* variable, so tracing is off (nothing of the SDK loaded)',
    },
    {
      label: 'api-traced',
      engine: 'ours-api',
      env: {},
      jaeger: true,
      note: "the same with OTEL_EXPORTER_OTLP_ENDPOINT set to a Jaeger v2 the sweep runs (OTLP/HTTP, in memory): every span of the API and the worker exported, the SDK's default batching",
    },
  ],
  eager: [
    {
      label: 'in-process',
      engine: 'ours-inprocess',
      env: {},
      note: 'worker in the client process, one NativeConnection, no eager start',
    },
    {
      label: 'in-process-eager',
      engine: 'ours-eager',
      env: {},
      note: 'the same, every start with requestEagerStart',
    },
  ],
};

const {
  name,
  rounds,
  seconds,
  unloadedCount,
  loads,
  render: renderOnly,
} = commandLine(
  {
    rounds: { type: 'string' },
    loads: { type: 'string' },
    seconds: { type: 'string' },
    unloaded: { type: 'string' },
    render: { type: 'boolean' },
  },
  ({ values, positionals }) => {
    const sweep = positionals[0] ?? '';
    if (!(sweep in sweeps) || positionals.length > 1) {
      throw new UsageError(`name one sweep: ${Object.keys(sweeps).join(', ')}`);
    }
    return {
      name: sweep,
      rounds: wholeNumber('rounds', values.rounds, 3, 1, 20),
      seconds: wholeNumber('seconds', values.seconds, 10, 1, 600),
      unloadedCount: wholeNumber('unloaded', values.unloaded, 20, 1, 1000),
      loads: (values.loads ?? LOADS.join(',')).split(',').map((raw) => wholeNumber('loads', raw.trim(), 1, 1, 512)),
      render: values.render ?? false,
    };
  },
);

async function runOne(engine: Engine, db: Db, round: number): Promise<RoundResult> {
  await seed(db);
  const orders: PlannedOrder[] = [];
  const plan = () => {
    const o = planOrder('fail10', `${engine.name}-r${round}-${Date.now().toString(36)}`);
    orders.push(o);
    return o;
  };
  const workerPid = engine.processes.worker?.pid;
  const apiPid = engine.processes.api?.pid;
  const cpu = () => ({
    server: treeCpuSeconds(engine.processes['temporal server']!.pid),
    // in-process engines run the worker in this process
    worker:
      workerPid !== undefined
        ? treeCpuSeconds(workerPid)
        : process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    // the API process, for the engines that start sagas through it
    api: apiPid !== undefined ? treeCpuSeconds(apiPid) : 0,
  });
  const run = async (errors: string[], latencies: number[]) => {
    const o = plan();
    const t = performance.now();
    try {
      const status = await engine.runSaga(o.input);
      if (status !== (o.failAt === null ? 'COMPLETED' : 'COMPENSATED')) errors.push(`${o.input.orderId}: ${status}`);
      else latencies.push(performance.now() - t);
    } catch (err) {
      errors.push(String(err).slice(0, 200));
    }
  };
  for (let i = 0; i < 5; i++) await run([], []); // warm-up
  const measures: Measure[] = [];
  for (const load of loads) {
    const errors: string[] = [];
    const latencies: number[] = [];
    const before = cpu();
    const t0 = performance.now();
    let sagas = 0;
    if (load === 1) {
      for (let i = 0; i < unloadedCount; i++, sagas++) await run(errors, latencies);
    } else {
      const end = t0 + seconds * 1000;
      await inLanes(
        load,
        () => performance.now() < end,
        async () => {
          await run(errors, latencies);
          sagas++;
        },
      );
    }
    const secs = (performance.now() - t0) / 1000;
    const after = cpu();
    const s = summarize(latencies);
    measures.push({
      load,
      sagas,
      perSecond: sagas / secs,
      p50: s.p50,
      p99: s.p99,
      serverCpuMs: ((after.server - before.server) * 1000) / Math.max(1, sagas),
      workerCpuMs: ((after.worker - before.worker) * 1000) / Math.max(1, sagas),
      ...(apiPid !== undefined ? { apiCpuMs: ((after.api - before.api) * 1000) / Math.max(1, sagas) } : {}),
      errors: errors.length,
    });
    if (errors.length) console.log(`    ${errors.length} errors, e.g. ${errors.slice(0, 2).join(' | ')}`);
  }
  const check = await checkAll(db, orders);
  return {
    round,
    measures,
    workerPeakMb: workerPid !== undefined ? treePeakMb(workerPid).largest : null,
    loadAverage: loadAverage(),
    dataProblems: check.problems.length,
  };
}

/** The traced variant really exported: Jaeger knows both services and has sagas' traces. */
async function expectTraces(jaeger: Jaeger): Promise<void> {
  const services = ((await (await fetch(`${jaeger.queryUrl}/api/services`)).json()) as { data: string[] }).data;
  const sagas = (await (
    await fetch(`${jaeger.queryUrl}/api/traces?service=saga-worker&operation=RunWorkflow:orderSaga&limit=5`)
  ).json()) as { data: unknown[] };
  if (!services.includes('saga-api') || !services.includes('saga-worker') || sagas.data.length === 0) {
    throw new Error(`the traced variant's spans are not in Jaeger: services ${services.join()}`);
  }
}

async function main(): Promise<void> {
  // Ours runs as shipped, with encrypted payloads: a key ring of the run's own unless one is given.
  if (!process.env.PAYLOAD_KEYS && process.env.PAYLOAD_ENCRYPTION !== 'off') {
    Object.assign(process.env, generateKeyRingEnv('bench-sweep'));
  }
  const variants = sweeps[name]!;
  const out = path.join(__dirname, 'results');
  if (renderOnly) {
    const saved = JSON.parse(fs.readFileSync(path.join(out, `sweep-${name}.json`), 'utf8')) as Record<
      string,
      unknown
    > & {
      rounds: number;
      seconds: number;
      unloaded: number;
      loads?: number[];
      variants: Variant[];
      results: Record<string, RoundResult[]>;
    };
    fs.writeFileSync(path.join(out, `sweep-${name}.md`), render(name, saved, saved.variants, saved.results, saved));
    console.log(`rewrote bench/results/sweep-${name}.md`);
    return;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.resolve(__dirname, '..', '.data', 'bench', `sweep-${name}-${stamp}`);
  fs.mkdirSync(dir, { recursive: true });
  const ferret = await startFerretDb({
    port: await freePort(),
    dataDir: path.join(dir, 'ferretdb'),
    logFile: path.join(dir, 'ferretdb.log'),
  });
  const mongo = new MongoClient(ferret.uri);
  // One trace store for the traced variants, for the whole sweep (its CPU is not counted: a collector's elsewhere).
  let jaeger: Jaeger | undefined;
  if (variants.some((v) => v.jaeger)) {
    jaeger = await startJaeger({
      otlpHttpPort: await freePort(),
      otlpGrpcPort: await freePort(),
      queryPort: await freePort(),
      queryGrpcPort: await freePort(),
      dir: path.join(dir, 'jaeger'),
      logFile: path.join(dir, 'jaeger.log'),
      maxTraces: 20_000,
    });
  }
  const loadStart = loadAverage();
  const results: Record<string, RoundResult[]> = {};
  for (let round = 1; round <= rounds; round++) {
    // rotate the order each round so no variant always runs first or last
    const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]!);
    for (const v of order) {
      const saved = { ...process.env };
      // Only a traced variant's processes see OTEL_* variables, and then only Jaeger's endpoint.
      for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key];
      Object.assign(process.env, v.env);
      if (v.jaeger) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger!.otlpEndpoint;
      let engine: Engine;
      try {
        engine = await engines[v.engine]!({
          dir: path.join(dir, `r${round}`, v.label),
          mongoUri: ferret.uri,
          mongoDb: `sweep_${v.label.replace(/-/g, '_')}`,
        });
      } finally {
        process.env = saved;
      }
      try {
        const r = await runOne(engine, mongo.db(`sweep_${v.label.replace(/-/g, '_')}`), round);
        if (v.jaeger) await expectTraces(jaeger!);
        (results[v.label] ??= []).push(r);
        console.log(
          `round ${round} ${v.label.padEnd(16)} ${r.measures.map((m) => `${m.load === 1 ? '1' : m.load}: ${fmt(m.perSecond, 1)}/s p50 ${fmt(m.p50)} p99 ${fmt(m.p99)}`).join(' | ')}  peak ${fmt(r.workerPeakMb ?? NaN)} MB  data problems ${r.dataProblems}  load ${r.loadAverage}`,
        );
      } finally {
        await engine.stop();
      }
    }
  }
  await mongo.close();
  await jaeger?.stop();
  await ferret.stop();
  const meta = {
    date: new Date().toISOString(),
    machine: {
      cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    loadStart,
    loadEnd: loadAverage(),
  };
  fs.writeFileSync(
    path.join(out, `sweep-${name}.json`),
    JSON.stringify(
      { ...meta, sweep: name, rounds, seconds, unloaded: unloadedCount, loads, variants, results },
      null,
      2,
    ) + '\n',
  );
  fs.writeFileSync(
    path.join(out, `sweep-${name}.md`),
    render(name, { rounds, seconds, unloaded: unloadedCount, loads }, variants, results, meta),
  );
  console.log(`results: bench/results/sweep-${name}.{md,json}; raw logs in ${dir}`);
}

runMain(main);

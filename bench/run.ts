/**
 * The saga benchmark: ours, plain Temporal, Restate and DBOS run the same five-step order saga with
 * the same participant code against the same FerretDB, one engine at a time.
 *
 *   npm run bench                      default run (about 15 minutes)
 *   npm run bench -- --quick           a short run (about 2–4 minutes), for a first look
 *   npm run bench -- --engines ours,restate   a subset
 *   npm run bench -- --quick --engines ours-inprocess,ours-eager --out eager   results under another name
 *   npm run bench -- --quick --engines ours,ours-open,ours-api,ours-api-open --out security-cost
 *                                      what payload encryption and API authentication cost (docs/security.md)
 *   npx tsx bench/run.ts --render      rewrite latest.{md,svg} from latest.json (with --quick / --out: those)
 *   npm run bench -- --quick --temporal-server dev,full --engines ours,ours-one-task,temporal-plain --out full-server
 *                                      the Temporal engines on the dev server and on the Temporal server itself
 *                                      (PostgreSQL, 4 shards: scripts/lib/temporal-server.ts), rows `<engine>@full`
 *
 * Per engine and mix (all succeed; 10% fail at a random step and compensate): one saga at a time,
 * a closed-loop sweep (8, 32, 128 in flight), an open-loop run at stepped arrival rates (latency
 * from the scheduled send time). Afterwards every saga's data is checked: fully applied or fully
 * undone. Results go to bench/results/ (JSON, Markdown table with ratios to ours, SVG chart).
 *
 * `ours-one-task` is `ours-eager` with config/saga-config/order-one-task.json stored (processPayment local: a saga
 * that succeeds is one workflow task).
 * The "ours" rows run as shipped, payloads encrypted (a key ring of the run's own). `ours-open` is `ours` with
 * PAYLOAD_ENCRYPTION=off; `ours-api` starts every saga through the API process (`POST /orders`, a bearer API key
 * from API_KEYS; bench settings API_RATE_LIMIT=1000000, API_MAX_STARTING_SAGAS=100000 so that nothing is refused),
 * `ours-api-open` the same with encryption and authentication off. The driver waits for each result on its own
 * Temporal client in every Temporal row.
 */
import { generateKeyRingEnv } from '../codec/data-converter';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { inLanes } from '../scripts/lib/lanes';
import { freePort, startFerretDb } from '../scripts/lib/servers';
import { commandLine, runMain, UsageError } from './lib/cli';
import { engines, runsOnEitherTemporalServer, type Engine } from './lib/engines';
import type { TemporalServerKind } from './lib/servers';
import { startProgress } from '../scripts/lib/progress';
import { loadAverage, treeCpuSeconds, treePeakMb } from './lib/procstat';
import { renderChart, renderMarkdown, type EngineResult, type MixResult, type Scenario } from './lib/report';
import { summarize } from './lib/stats';
import { checkAll, planOrder, seed, type Mix, type PlannedOrder } from './lib/workload';

const { quick, engineNames, outArg, render, temporalServers } = commandLine(
  {
    engines: { type: 'string' },
    out: { type: 'string' },
    quick: { type: 'boolean' },
    render: { type: 'boolean' },
    'temporal-server': { type: 'string' },
  },
  ({ values }) => {
    const names = values.engines?.split(',') ?? [
      'ours',
      'ours-eager',
      'ours-one-task',
      'temporal-plain',
      'restate',
      'dbos',
      'ours-sqlite-default',
    ];
    const unknown = names.filter((n) => !(n in engines));
    if (unknown.length) {
      throw new UsageError(`unknown engine ${unknown.join(', ')}; known: ${Object.keys(engines).join(', ')}`);
    }
    const out = values.out;
    if (out !== undefined && !/^[a-z0-9-]+$/.test(out)) throw new UsageError('--out takes a name of a-z, 0-9 and -');
    const servers = (values['temporal-server'] ?? 'dev').split(',');
    if (servers.some((x) => x !== 'dev' && x !== 'full') || new Set(servers).size !== servers.length) {
      throw new UsageError('--temporal-server takes dev, full or dev,full');
    }
    return {
      quick: values.quick ?? false,
      engineNames: names,
      outArg: out,
      render: values.render ?? false,
      temporalServers: servers as TemporalServerKind[],
    };
  },
);
const cfg = quick
  ? { unloaded: 8, closed: [8, 32], closedSeconds: 4, openSteps: [0.6, 1.0], openSeconds: 4 }
  : { unloaded: 30, closed: [8, 32, 128], closedSeconds: 12, openSteps: [0.5, 0.8, 1.0, 1.25], openSeconds: 10 };
/** An open-loop rate counts as sustained when p99 stays under this and every saga finished. */
const P99_BOUND_MS = 2000;
const DRAIN_TIMEOUT_MS = 60_000;

interface Meter {
  engine: Engine;
  cpu(): Record<string, number>;
}

function meter(engine: Engine): Meter {
  return {
    engine,
    cpu() {
      const out: Record<string, number> = {};
      for (const [role, p] of Object.entries(engine.processes)) out[role] = treeCpuSeconds(p.pid);
      const u = process.cpuUsage();
      out.driver = (u.user + u.system) / 1e6;
      return out;
    },
  };
}

async function timed(engine: Engine, o: PlannedOrder, since: number, errors: string[]): Promise<number | null> {
  try {
    const status = await engine.runSaga(o.input);
    const want = o.failAt === null ? 'COMPLETED' : 'COMPENSATED';
    if (status !== want) errors.push(`${o.input.orderId}: ${status}, expected ${want}`);
    return performance.now() - since;
  } catch (err) {
    errors.push(`${o.input.orderId}: ${String(err).slice(0, 200)}`);
    return null;
  }
}

async function scenario(
  m: Meter,
  label: string,
  kind: Scenario['kind'],
  orders: PlannedOrder[],
  body: (errors: string[], latencies: number[]) => Promise<{ sagas: number; seconds: number; offered?: number }>,
): Promise<Scenario> {
  const before = m.cpu();
  const errors: string[] = [];
  const latencies: number[] = [];
  const { sagas, seconds, offered } = await body(errors, latencies);
  const after = m.cpu();
  const cpu = Object.fromEntries(
    Object.keys(after).map((k) => [k, (after[k]! - (before[k] ?? 0)) / Math.max(1, sagas)]),
  );
  const s: Scenario = {
    label,
    kind,
    sagas,
    seconds,
    perSecond: sagas / seconds,
    ...summarize(latencies),
    cpuPerSaga: cpu,
    errors: errors.length,
    offered,
    loadAverage: loadAverage(),
  };
  if (errors.length) console.log(`    ${errors.length} errors, e.g. ${errors.slice(0, 3).join(' | ')}`);
  console.log(
    `  ${label.padEnd(22)} ${s.perSecond.toFixed(1).padStart(7)}/s  p50 ${s.p50.toFixed(0)} p99 ${s.p99.toFixed(0)} max ${s.max.toFixed(0)} ms  (${sagas} sagas, load ${s.loadAverage})`,
  );
  void orders;
  return s;
}

async function runMix(engine: Engine, mix: Mix, db: Db): Promise<MixResult> {
  await seed(db);
  await engine.afterSeed?.();
  const m = meter(engine);
  const orders: PlannedOrder[] = [];
  const plan = () => {
    const o = planOrder(mix, `${engine.name}-${mix}-${Date.now().toString(36)}`);
    orders.push(o);
    return o;
  };
  const scenarios: Scenario[] = [];
  console.log(`${engine.name} / ${mix}`);
  // warm-up: JIT, connections, bundles
  for (let i = 0; i < 3; i++) await engine.runSaga(plan().input).catch(() => undefined);

  const unloaded: PlannedOrder[] = [];
  scenarios.push(
    await scenario(m, 'one at a time', 'unloaded', orders, async (errors, latencies) => {
      const t0 = performance.now();
      for (let i = 0; i < cfg.unloaded; i++) {
        const o = plan();
        unloaded.push(o);
        const start = performance.now();
        const l = await timed(engine, o, start, errors);
        if (l !== null) latencies.push(l);
      }
      return { sagas: cfg.unloaded, seconds: (performance.now() - t0) / 1000 };
    }),
  );
  let history: MixResult['historyEvents'];
  if (engine.historyEvents) {
    const counts = await Promise.all(
      unloaded.map(async (o) => ({ failed: o.failAt !== null, n: await engine.historyEvents!(o.input.orderId) })),
    );
    const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    history = {
      completed: avg(counts.filter((c) => !c.failed).map((c) => c.n)),
      compensated: avg(counts.filter((c) => c.failed).map((c) => c.n)),
    };
  }

  for (const c of cfg.closed) {
    scenarios.push(
      await scenario(m, `closed ${c} in flight`, 'closed', orders, async (errors, latencies) => {
        const t0 = performance.now();
        const end = t0 + cfg.closedSeconds * 1000;
        let done = 0;
        await inLanes(
          c,
          () => performance.now() < end,
          async () => {
            const l = await timed(engine, plan(), performance.now(), errors);
            done++;
            if (l !== null) latencies.push(l);
          },
        );
        return { sagas: done, seconds: (performance.now() - t0) / 1000 };
      }),
    );
  }

  const best = Math.max(...scenarios.filter((s) => s.kind === 'closed').map((s) => s.perSecond));
  for (const f of cfg.openSteps) {
    const rate = Math.max(0.5, best * f);
    const s = await scenario(m, `open ${rate.toFixed(1)}/s`, 'open', orders, async (errors, latencies) => {
      const n = Math.max(1, Math.round(rate * cfg.openSeconds));
      const t0 = performance.now();
      const runs: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const scheduled = t0 + (i * 1000) / rate;
        const wait = scheduled - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const o = plan();
        runs.push(timed(engine, o, scheduled, errors).then((l) => void (l !== null && latencies.push(l))));
      }
      const drained = await Promise.race([
        Promise.all(runs).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), DRAIN_TIMEOUT_MS)),
      ]);
      if (!drained)
        errors.push(
          `open loop at ${rate.toFixed(1)}/s: sagas still running ${DRAIN_TIMEOUT_MS / 1000}s after the last send`,
        );
      return { sagas: n, seconds: (performance.now() - t0) / 1000, offered: rate };
    });
    s.sustained = s.errors === 0 && s.p99 <= P99_BOUND_MS;
    scenarios.push(s);
    if (!s.sustained) break;
  }

  const check = await checkAll(db, orders);
  console.log(
    `  data check: ${check.checked} sagas, ${check.problems.length} problems${check.problems.length ? `: ${check.problems.slice(0, 5).join('; ')}` : ''}`,
  );
  return {
    mix,
    scenarios,
    historyEvents: history,
    check: { checked: check.checked, problems: check.problems.slice(0, 20), problemCount: check.problems.length },
  };
}

/** Cost of one durable commit on this disk: a single-row SQLite transaction (WAL+normal, and defaults) and a FerretDB write. */
async function calibrate(dir: string, mongoUri: string) {
  const py = `
import sqlite3, time, sys, os
out = {}
for mode in ('wal', 'default'):
    f = os.path.join(sys.argv[1], 'calib-%s.db' % mode)
    db = sqlite3.connect(f, isolation_level=None)
    if mode == 'wal':
        db.execute('pragma journal_mode=wal'); db.execute('pragma synchronous=normal')
    db.execute('create table t (k integer primary key, v text)')
    n = 300
    t = time.perf_counter()
    for i in range(n):
        db.execute('begin'); db.execute('insert into t values (?, ?)', (i, 'x' * 100)); db.execute('commit')
    out[mode] = (time.perf_counter() - t) / n * 1000
print('%f %f' % (out['wal'], out['default']))
`;
  const [walMs, defaultMs] = execFileSync('python3', ['-c', py, dir]).toString().trim().split(' ').map(Number);
  const client = new MongoClient(mongoUri);
  const col = client.db('bench_calibration').collection<{ _id: number; v: string }>('t');
  await col.drop().catch(() => undefined);
  const n = 300;
  const t = performance.now();
  for (let i = 0; i < n; i++) await col.insertOne({ _id: i, v: 'x'.repeat(100) });
  const ferretMs = (performance.now() - t) / n;
  await client.close();
  return { sqliteWalCommitMs: walMs!, sqliteDefaultCommitMs: defaultMs!, ferretDbWriteMs: ferretMs };
}

function machine() {
  return {
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    disk: 'the same disk for every engine (Temporal SQLite file, Restate RocksDB, PostgreSQL, FerretDB SQLite)',
  };
}

async function main(): Promise<void> {
  // Ours runs as shipped, with encrypted payloads: a key ring of the run's own unless one is given.
  if (!process.env.PAYLOAD_KEYS && process.env.PAYLOAD_ENCRYPTION !== 'off') {
    Object.assign(process.env, generateKeyRingEnv('bench'));
  }
  if (render) {
    // Rewrite the Markdown and the chart from the JSON of an earlier run (after a change to the report).
    const base = path.join(__dirname, 'results', outArg ?? (quick ? 'quick' : 'latest'));
    const saved = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as Parameters<typeof renderMarkdown>[0];
    fs.writeFileSync(`${base}.md`, renderMarkdown(saved));
    fs.writeFileSync(`${base}.svg`, renderChart(saved));
    console.log(`rewrote ${path.relative(process.cwd(), base)}.{md,svg}`);
    return;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.resolve(__dirname, '..', '.data', 'bench', stamp);
  fs.mkdirSync(dir, { recursive: true });
  const ferret = await startFerretDb({
    port: await freePort(),
    dataDir: path.join(dir, 'ferretdb'),
    logFile: path.join(dir, 'ferretdb.log'),
  });
  const loadAtStart = loadAverage();
  const calibration = await calibrate(dir, ferret.uri);
  console.log(
    `calibration: SQLite commit ${calibration.sqliteWalCommitMs.toFixed(2)} ms (WAL) / ${calibration.sqliteDefaultCommitMs.toFixed(2)} ms (defaults); FerretDB write ${calibration.ferretDbWriteMs.toFixed(2)} ms`,
  );
  const mongo = new MongoClient(ferret.uri);
  const results: EngineResult[] = [];
  const mixesOf = (name: string): Mix[] => (name === 'ours-sqlite-default' ? ['success'] : ['success', 'fail10']);
  // Each Temporal engine once per Temporal server asked for (`<engine>@full` on the server itself), the others once.
  const runs = engineNames.flatMap((name) =>
    runsOnEitherTemporalServer(name)
      ? temporalServers.map((server) => ({ name, server, label: server === 'dev' ? name : `${name}@full` }))
      : [{ name, server: 'dev' as const, label: name }],
  );
  const progress = startProgress({
    label: 'bench: engine runs (engine × mix)',
    total: runs.reduce((sum, { name }) => sum + mixesOf(name).length, 0),
  });
  let runsDone = 0;
  for (const { name, server, label } of runs) {
    const make = engines[name]!;
    const mongoDb = `bench_${label.replace(/[-@]/g, '_')}`;
    const ferretCpu0 = treeCpuSeconds(ferret.process.pid);
    let engine: Engine;
    try {
      engine = await make({
        dir: server === 'dev' ? dir : path.join(dir, 'full'),
        mongoUri: ferret.uri,
        mongoDb,
        temporalServer: server,
      });
    } catch (err) {
      console.log(`${label}: could not start: ${String(err)}`);
      results.push({ engine: label, error: String(err).slice(0, 500), mixes: [], peakMb: {} });
      progress.update((runsDone += mixesOf(name).length));
      continue;
    }
    const mixes: MixResult[] = [];
    // default SQLite pragmas: a labelled extra row, the all-succeed mix only
    for (const mix of mixesOf(name)) {
      mixes.push(await runMix(engine, mix, mongo.db(mongoDb)));
      progress.update(++runsDone);
    }
    const peakMb: Record<string, number> = {};
    for (const [role, p] of Object.entries(engine.processes)) peakMb[role] = treePeakMb(p.pid).largest;
    peakMb.ferretdb = treePeakMb(ferret.process.pid).largest;
    const sagas = mixes.flatMap((x) => x.scenarios).reduce((a, s) => a + s.sagas, 0);
    const ferretCpuPerSaga = (treeCpuSeconds(ferret.process.pid) - ferretCpu0) / Math.max(1, sagas);
    const note = engine.note?.();
    if (note) console.log(`  ${label}: ${note}`);
    await engine.stop();
    results.push({ engine: label, mixes, peakMb, ferretCpuPerSaga, ...(note ? { note } : {}) });
  }
  progress.stop();
  await mongo.close();
  await ferret.stop();
  const report = {
    date: new Date().toISOString(),
    quick,
    machine: machine(),
    loadAverage: { start: loadAtStart, end: loadAverage() },
    calibration,
    config: { ...cfg, p99BoundMs: P99_BOUND_MS, temporalServers },
    results,
  };
  const out = path.join(__dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  const base = outArg ?? (quick ? 'quick' : 'latest');
  fs.writeFileSync(path.join(out, `${base}.json`), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(out, `${base}.md`), renderMarkdown(report));
  fs.writeFileSync(path.join(out, `${base}.svg`), renderChart(report));
  console.log(`results: bench/results/${base}.{md,json,svg}; raw logs in ${dir}`);
}

runMain(main);

/** The benchmark's report: a Markdown table with ratios to ours, and an SVG chart of p99 latency against throughput. */

export interface Scenario {
  label: string;
  kind: 'unloaded' | 'closed' | 'open';
  sagas: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** CPU seconds per saga, by process role. */
  cpuPerSaga: Record<string, number>;
  errors: number;
  offered?: number;
  sustained?: boolean;
  loadAverage: string;
}

export interface MixResult {
  mix: string;
  scenarios: Scenario[];
  historyEvents?: { completed: number | null; compensated: number | null };
  check: { checked: number; problems: string[]; problemCount: number };
}

export interface EngineResult {
  engine: string;
  error?: string;
  mixes: MixResult[];
  /** Peak resident memory (VmHWM) in MB of the largest process of each role. */
  peakMb: Record<string, number>;
  ferretCpuPerSaga?: number;
  /** Engine-specific remark, e.g. how many starts were eager. */
  note?: string;
}

export interface Report {
  date: string;
  quick: boolean;
  machine: Record<string, unknown>;
  loadAverage: { start: string; end: string };
  calibration: { sqliteWalCommitMs: number; sqliteDefaultCommitMs: number; ferretDbWriteMs: number };
  config: Record<string, unknown>;
  results: EngineResult[];
}

const f0 = (n: number | undefined | null) => (n === undefined || n === null || Number.isNaN(n) ? '–' : n.toFixed(0));
const f1 = (n: number | undefined | null) => (n === undefined || n === null || Number.isNaN(n) ? '–' : n.toFixed(1));
const f2 = (n: number | undefined | null) => (n === undefined || n === null || Number.isNaN(n) ? '–' : n.toFixed(2));
const ms = (s: Scenario | undefined) => (s ? `${f0(s.p50)} / ${f0(s.p95)} / ${f0(s.p99)} / ${f0(s.max)}` : '–');

export function bestClosed(m: MixResult): Scenario | undefined {
  return m.scenarios.filter((s) => s.kind === 'closed').sort((a, b) => b.perSecond - a.perSecond)[0];
}
export function maxSustained(m: MixResult): number | undefined {
  const ok = m.scenarios.filter((s) => s.kind === 'open' && s.sustained).map((s) => s.offered ?? 0);
  return ok.length ? Math.max(...ok) : undefined;
}
function totalCpu(m: MixResult): Record<string, number> {
  const out: Record<string, number> = {};
  const sagas = m.scenarios.reduce((a, s) => a + s.sagas, 0);
  for (const s of m.scenarios)
    for (const [k, v] of Object.entries(s.cpuPerSaga)) out[k] = (out[k] ?? 0) + (v * s.sagas) / sagas;
  return out;
}

export function renderMarkdown(r: Report): string {
  const L: string[] = [];
  L.push(`# Saga benchmark results${r.quick ? ' (quick run)' : ''}`, '');
  L.push(
    `Run ${r.date}. Machine: ${Object.entries(r.machine)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('; ')}.`,
  );
  L.push(
    `Load average (1/5/15 min) at start: ${r.loadAverage.start}; at end: ${r.loadAverage.end} — the 2 cores were shared with other work, so absolute figures are pessimistic; compare engines within this run.`,
    '',
  );
  L.push(
    `Commit cost on this disk: SQLite single-row commit ${f2(r.calibration.sqliteWalCommitMs)} ms (WAL, synchronous=normal), ${f2(r.calibration.sqliteDefaultCommitMs)} ms (SQLite defaults); FerretDB single insert ${f2(r.calibration.ferretDbWriteMs)} ms.`,
    '',
  );
  L.push(`Settings: ${JSON.stringify(r.config)}.`, '');
  L.push('Engines:', '');
  for (const e of r.results) L.push(`- **${e.engine}**: ${describeEngine(e.engine)}${e.note ? ` (${e.note})` : ''}`);
  L.push('');
  L.push('## Summary', '');
  L.push(
    '| engine | mix | unloaded p50/p95/p99/max ms | best closed-loop sagas/s (in flight) | p50/p95/p99/max ms there | max sustained open-loop rate (p99 ≤ bound) | CPU s/saga by process | peak MB by process | history events/saga (completed / compensated) | data check |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const e of r.results) {
    if (e.error) {
      L.push(`| ${e.engine} | – | could not run: ${e.error.replace(/\|/g, '/').replace(/\n/g, ' ')} | | | | | | | |`);
      continue;
    }
    for (const m of e.mixes) {
      const u = m.scenarios.find((s) => s.kind === 'unloaded');
      const b = bestClosed(m);
      const cpu = totalCpu(m);
      const cpuText = [
        ...Object.entries(cpu).map(([k, v]) => `${k} ${f2(v)}`),
        `ferretdb ${f2(e.ferretCpuPerSaga)}`,
      ].join(', ');
      const mem = Object.entries(e.peakMb)
        .map(([k, v]) => `${k} ${f0(v)}`)
        .join(', ');
      const h = m.historyEvents ? `${f1(m.historyEvents.completed)} / ${f1(m.historyEvents.compensated)}` : 'n/a';
      const check =
        m.check.problemCount === 0 ? `${m.check.checked} ok` : `${m.check.problemCount} PROBLEMS of ${m.check.checked}`;
      L.push(
        `| ${e.engine} | ${m.mix} | ${ms(u)} | ${f1(b?.perSecond)} (${b?.label.split(' ')[1] ?? '–'}) | ${ms(b)} | ${f1(maxSustained(m))} /s | ${cpuText} | ${mem} | ${h} | ${check} |`,
      );
    }
  }
  const ours = r.results.find((e) => e.engine === 'ours' && !e.error);
  if (ours) {
    L.push('', '## Ratios to ours (same mix)', '');
    L.push(
      '| engine | mix | throughput ÷ ours | unloaded p50 ÷ ours | CPU per saga (all processes incl. FerretDB) ÷ ours |',
    );
    L.push('|---|---|---|---|---|');
    const allCpu = (e: EngineResult, m: MixResult) =>
      Object.entries(totalCpu(m))
        // the load generator's own CPU is left out, except where the worker runs inside it
        .filter(([k]) => k !== 'driver' || WORKER_IN_DRIVER.has(baseEngine(e.engine)))
        .reduce((a, [, v]) => a + v, 0) + (e.ferretCpuPerSaga ?? 0);
    for (const e of r.results.filter((x) => !x.error)) {
      for (const m of e.mixes) {
        const o = ours.mixes.find((x) => x.mix === m.mix);
        if (!o) continue;
        const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
        L.push(
          `| ${e.engine} | ${m.mix} | ${ratio(bestClosed(m)?.perSecond, bestClosed(o)?.perSecond)} | ${ratio(m.scenarios.find((s) => s.kind === 'unloaded')?.p50, o.scenarios.find((s) => s.kind === 'unloaded')?.p50)} | ${ratio(allCpu(e, m), allCpu(ours, o))} |`,
        );
      }
    }
  }
  L.push(...peerRatios(r));
  L.push(...securityCost(r));
  L.push('', '## Every scenario', '');
  L.push('| engine | mix | scenario | sagas | sagas/s | p50 | p95 | p99 | max ms | errors | sustained | load avg |');
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const e of r.results)
    for (const m of e.mixes)
      for (const s of m.scenarios) {
        L.push(
          `| ${e.engine} | ${m.mix} | ${s.label} | ${s.sagas} | ${f1(s.perSecond)} | ${f0(s.p50)} | ${f0(s.p95)} | ${f0(s.p99)} | ${f0(s.max)} | ${s.errors} | ${s.sustained === undefined ? '' : s.sustained ? 'yes' : 'no'} | ${s.loadAverage} |`,
        );
      }
  const problems = r.results.flatMap((e) =>
    e.mixes.flatMap((m) => m.check.problems.map((p) => `${e.engine}/${m.mix}: ${p}`)),
  );
  if (problems.length) L.push('', '## Data problems', '', ...problems.map((p) => `- ${p}`));
  L.push(
    '',
    'CPU per saga: /proc utime+stime of each process tree over the mix (warm-up excluded), divided by the sagas of the mix. Peak MB: VmHWM of the largest process of each role over the whole engine run. Latency: start request to final result as seen by the driver; in the open loop, from the scheduled send time.',
    '',
  );
  return L.join('\n');
}

const COLORS: Record<string, string> = {
  ours: '#1f77b4',
  'temporal-plain': '#ff7f0e',
  restate: '#2ca02c',
  dbos: '#d62728',
  'ours-sqlite-default': '#9467bd',
  'ours-eager': '#17becf',
  'ours-inprocess': '#8c564b',
  'ours-open': '#aec7e8',
  'ours-api': '#e377c2',
  'ours-api-open': '#f7b6d2',
};

/** Engines whose worker runs in the load generator's process: its CPU is in the driver figure. */
const WORKER_IN_DRIVER = new Set(['ours-eager', 'ours-inprocess', 'ours-one-task']);

/** `ours@full` is `ours` on the Temporal server itself (bench/run.ts --temporal-server full). */
const FULL_SERVER = '@full';
const baseEngine = (name: string) => (name.endsWith(FULL_SERVER) ? name.slice(0, -FULL_SERVER.length) : name);
const describeEngine = (name: string) =>
  name.endsWith(FULL_SERVER)
    ? `${DESCRIPTIONS[baseEngine(name)] ?? ''}; on the Temporal server itself instead of the dev server (cmd/server v1.31.0 on PostgreSQL with fsync on, 4 history shards, compose/temporal/dynamicconfig/production-sql.yaml; its PostgreSQL's CPU is the "temporal postgres" figure)`
    : (DESCRIPTIONS[name] ?? '');

/** The engine or engines a Temporal row is measured against: Restate and DBOS, as the goal is set. */
const PEERS = ['restate', 'dbos'];

/**
 * Each of our rows against Restate and DBOS in the same mix: throughput (best closed loop), unloaded p50, and the CPU
 * per saga of the engine's server and worker together (the load generator's own and FerretDB's left out, the
 * worker's counted where it runs in the load generator).
 */
function peerRatios(r: Report): string[] {
  const peers = PEERS.map((name) => r.results.find((e) => e.engine === name && !e.error)).filter(
    (e): e is EngineResult => e !== undefined,
  );
  const ours = r.results.filter((e) => !e.error && baseEngine(e.engine).startsWith('ours'));
  if (peers.length === 0 || ours.length === 0) return [];
  const engineCpu = (e: EngineResult, m: MixResult) =>
    Object.entries(totalCpu(m))
      .filter(([k]) => k !== 'driver' || WORKER_IN_DRIVER.has(baseEngine(e.engine)))
      .reduce((a, [, v]) => a + v, 0);
  const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
  const L = ['', '## Ratios to Restate and DBOS (same mix)', ''];
  L.push('| engine | mix | vs | throughput ÷ peer | unloaded p50 ÷ peer | CPU per saga, server + worker ÷ peer |');
  L.push('|---|---|---|---|---|---|');
  for (const e of ours) {
    for (const m of e.mixes) {
      for (const peer of peers) {
        const p = peer.mixes.find((x) => x.mix === m.mix);
        if (!p) continue;
        const p50 = (x: MixResult) => x.scenarios.find((s) => s.kind === 'unloaded')?.p50;
        L.push(
          `| ${e.engine} | ${m.mix} | ${peer.engine} | ${ratio(bestClosed(m)?.perSecond, bestClosed(p)?.perSecond)} | ${ratio(p50(m), p50(p))} | ${ratio(engineCpu(e, m), engineCpu(peer, p))} |`,
        );
      }
    }
  }
  return L;
}

/** What each engine row is. */
const DESCRIPTIONS: Record<string, string> = {
  ours: 'as shipped: bootstrap/worker-main.ts in its own process, the dev server in WAL mode',
  'ours-eager':
    "as with API_EMBEDDED_WORKER=true: the worker in the starting process on one NativeConnection, every saga started eagerly; the worker's CPU is in the driver figure",
  'ours-inprocess': "the same without eager start; the worker's CPU is in the driver figure",
  'ours-one-task':
    "ours-eager with config/saga-config/order-one-task.json stored (processPayment local too): a saga that succeeds is one workflow task; the worker's CPU is in the driver figure",
  'temporal-plain': 'Temporal as the official samples write it: regular activities, default worker options',
  restate: 'Restate server (RocksDB) and a Node service, one durable step per participant call',
  dbos: 'DBOS Transact on PostgreSQL (fsync on), one step per participant call',
  'ours-sqlite-default':
    "ours with the dev server on SQLite's defaults (rollback journal, an fsync per commit): stricter than WAL/normal, for contrast",
  'ours-open': 'ours with PAYLOAD_ENCRYPTION=off in the worker and the driver: payloads in plain text',
  'ours-api':
    'as users run it: the worker process and the API process (bootstrap/api-main.ts), each saga started by POST /orders with a bearer API key (API_KEYS, a SHA-256 hash), payloads encrypted; the driver waits for the result on its Temporal client. Bench settings: API_RATE_LIMIT=1000000, API_MAX_STARTING_SAGAS=100000',
  'ours-api-open': 'ours-api with PAYLOAD_ENCRYPTION=off and API_AUTH=off (no header sent)',
};

/** Rows measured with a security setting on, and the same rows with it off: the setting's cost. */
const SECURITY_PAIRS: [on: string, off: string, what: string][] = [
  ['ours', 'ours-open', 'payload encryption'],
  ['ours-api', 'ours-api-open', 'payload encryption and API authentication'],
];

/** What payload encryption and API authentication cost: each "on" row against its "off" row, same run, same mix. */
function securityCost(r: Report): string[] {
  const found = (n: string) => r.results.find((e) => e.engine === n && !e.error);
  const pairs = SECURITY_PAIRS.filter(([on, off]) => found(on) && found(off));
  if (!pairs.length) return [];
  const L = ['', '## What the security settings cost (on ÷ off − 1, same mix)', ''];
  L.push(
    '| on | off | what | mix | best closed-loop sagas/s | unloaded p50 ms | CPU ms/saga, Temporal server + worker (+ API) |',
  );
  L.push('|---|---|---|---|---|---|---|');
  const pct = (a?: number, b?: number) =>
    a !== undefined && b !== undefined && b > 0
      ? `${a / b - 1 >= 0 ? '+' : ''}${((a / b - 1) * 100).toFixed(0)}%`
      : '–';
  const cpu = (m: MixResult) =>
    Object.entries(totalCpu(m))
      .filter(([k]) => k !== 'driver')
      .reduce((a, [, v]) => a + v, 0);
  for (const [on, off, what] of pairs) {
    for (const m of found(on)!.mixes) {
      const o = found(off)!.mixes.find((x) => x.mix === m.mix);
      if (!o) continue;
      const u = (x: MixResult) => x.scenarios.find((s) => s.kind === 'unloaded')?.p50;
      const bm = bestClosed(m)?.perSecond;
      const bo = bestClosed(o)?.perSecond;
      L.push(
        `| ${on} | ${off} | ${what} | ${m.mix} | ${f1(bm)} vs ${f1(bo)}: ${pct(bm, bo)} | ${f0(u(m))} vs ${f0(u(o))}: ${pct(u(m), u(o))} | ${f1(cpu(m) * 1000)} vs ${f1(cpu(o) * 1000)}: ${pct(cpu(m), cpu(o))} |`,
      );
    }
  }
  return L;
}

/** p99 latency (log scale) against completed sagas/s, one line per engine, all-succeed mix, closed and open loop. */
export function renderChart(r: Report): string {
  const W = 760,
    H = 440,
    ml = 70,
    mr = 180,
    mt = 40,
    mb = 50;
  const series = r.results
    .filter((e) => !e.error)
    .map((e) => {
      const m = e.mixes.find((x) => x.mix === 'success');
      const pts = (m?.scenarios ?? [])
        .filter((s) => s.kind !== 'unloaded' && s.perSecond > 0 && s.p99 > 0)
        .map((s) => ({ x: s.perSecond, y: s.p99, label: s.label }))
        .sort((a, b) => a.x - b.x);
      return { name: e.engine, pts };
    });
  const all = series.flatMap((s) => s.pts);
  const xmax = Math.max(1, ...all.map((p) => p.x)) * 1.1;
  const ymin = Math.max(1, Math.min(...all.map((p) => p.y), 10));
  const ymax = Math.max(100, ...all.map((p) => p.y)) * 1.5;
  const lx = (x: number) => ml + (x / xmax) * (W - ml - mr);
  const ly = (y: number) =>
    mt + (1 - (Math.log10(y) - Math.log10(ymin)) / (Math.log10(ymax) - Math.log10(ymin))) * (H - mt - mb);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(
    `<text x="${ml}" y="22" font-size="14">p99 latency vs throughput, all sagas succeed (closed loop 8/32/128 and open loop steps)</text>`,
  );
  for (let d = Math.ceil(Math.log10(ymin)); d <= Math.log10(ymax); d++) {
    for (const k of [1, 2, 5]) {
      const y = k * 10 ** d;
      if (y < ymin || y > ymax) continue;
      out.push(
        `<line x1="${ml}" x2="${W - mr}" y1="${ly(y)}" y2="${ly(y)}" stroke="#eee"/><text x="${ml - 6}" y="${ly(y) + 4}" text-anchor="end">${y >= 1000 ? `${y / 1000}s` : `${y}ms`}</text>`,
      );
    }
  }
  const step = xmax > 200 ? 50 : xmax > 100 ? 20 : xmax > 40 ? 10 : xmax > 10 ? 5 : 1;
  for (let x = 0; x <= xmax; x += step)
    out.push(
      `<line x1="${lx(x)}" x2="${lx(x)}" y1="${mt}" y2="${H - mb}" stroke="#eee"/><text x="${lx(x)}" y="${H - mb + 16}" text-anchor="middle">${x}</text>`,
    );
  out.push(`<text x="${(ml + W - mr) / 2}" y="${H - 12}" text-anchor="middle">completed sagas per second</text>`);
  out.push(
    `<text x="16" y="${(mt + H - mb) / 2}" transform="rotate(-90 16 ${(mt + H - mb) / 2})" text-anchor="middle">p99 start-to-final latency</text>`,
  );
  out.push(`<rect x="${ml}" y="${mt}" width="${W - ml - mr}" height="${H - mt - mb}" fill="none" stroke="#888"/>`);
  series.forEach((s, i) => {
    const c = COLORS[s.name] ?? '#333';
    if (s.pts.length)
      out.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.pts.map((p) => `${lx(p.x).toFixed(1)},${ly(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const p of s.pts)
      out.push(
        `<circle cx="${lx(p.x).toFixed(1)}" cy="${ly(p.y).toFixed(1)}" r="3.5" fill="${c}"><title>${s.name} ${p.label}: ${p.x.toFixed(1)}/s, p99 ${p.y.toFixed(0)} ms</title></circle>`,
      );
    out.push(
      `<rect x="${W - mr + 16}" y="${mt + 10 + i * 20}" width="12" height="12" fill="${c}"/><text x="${W - mr + 34}" y="${mt + 20 + i * 20}">${s.name}</text>`,
    );
  });
  out.push(
    `<text x="${W - mr + 16}" y="${mt + 20 + series.length * 20 + 10}" fill="#555">load avg ${r.loadAverage.start}</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

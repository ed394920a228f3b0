/**
 * 100 clients following one order saga: what they cost the Temporal dev server, the worker, the API and FerretDB,
 * with the event stream as shipped (one feed per followed saga in the API, docs/events.md) and with what each
 * client made the API do before that change (one Temporal `getState` query every 300 ms), in one run, on the same
 * servers.
 *
 *   npm run bench:follow
 *   npx tsx bench/follow.ts --followers 100 --seconds 20
 *
 * Each saga spends about `--seconds` in its payment step, as a saga held by a slow payment provider. One attempt
 * of a participant call may take at most 10 s (`participantCall.startToCloseTimeout`), so a plain
 * `SAGA_FAULTS=processPayment:delayMs=20000` would time out every attempt and the saga would compensate. The
 * worker runs with `processPayment:fail=K-1,processPayment:delayMs=D` instead (`holdPlan`): K attempts of D ms
 * each (D ≤ 8 s), the first K-1 failing after their wait, with the retry policy's backoff between them (20 s:
 * 3 attempts of 5.7 s, 1 s and 2 s between them). Retries of a regular activity happen in the server: the saga's
 * workflow sees nothing until the last attempt's result.
 *
 * The phases, each on a saga of its own (its own customer, so that each is the first order of its customer's
 * loyalty workflow), measured from right after `POST /orders` answered 202:
 *
 * - **with** (what we ship): N clients on `GET /orders/{id}/events`, each reading until the server closes the
 *   stream; every client must have received the saga's whole stream (the same `domain-event`s, in order, as
 *   `GET /orders/{id}/domain-events` lists) and then `end` with COMPLETED, or the run fails.
 * - **without** (what each client cost before): N clients each polling `GET /orders/{id}` every 300 ms until they
 *   see COMPLETED. Each request is one Temporal query, exactly what each event-stream client made the API do
 *   before one feed served them all; it is a simulation by polling, so the API also parses N HTTP requests per
 *   300 ms (and checks their credential) that the old stream did not.
 * - **no client**: the same saga with nobody following it (the driver waits for its result on its own Temporal
 *   client, a long poll): what the saga itself and the idle processes cost in such a window.
 *
 * Per phase: CPU seconds (utime + stime from /proc, each process tree) of the dev server, the worker, the API and
 * FerretDB over exactly the phase's window, their percentage of one core over it, and the QueryWorkflow requests
 * the dev server's frontend counted (its Prometheus metrics, `--metrics-port`). Results: bench/results/follow.json
 * and follow.md; raw logs in .data/bench/follow-<time>/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import * as prettier from 'prettier';
import { dataConverterFromEnv, generateKeyRingEnv, payloadKeyEnv } from '../codec/data-converter';
import { orderWorkflowId } from '../common/order';
import { generateApiKey, hashApiKey } from '../store/api-keys';
import type { ManagedProcess } from '../scripts/lib/processes';
import { freePort, startFerretDb, startTemporalDevServer } from '../scripts/lib/servers';
import { participantCall } from '../workflows/saga/policies';
import { commandLine, runMain, UsageError, wholeNumber } from './lib/cli';
import { BENCH_API_SETTINGS } from './lib/engines';
import { loadAverage, treeCpuSeconds } from './lib/procstat';
import { startNodeProcess } from './lib/servers';
import { sagaResult } from '../common/saga-result';

const { followers, seconds, hold } = commandLine(
  { followers: { type: 'string' }, seconds: { type: 'string' } },
  ({ values }) => {
    const held = wholeNumber('seconds', values.seconds, 20, 1, 60);
    return {
      followers: wholeNumber('followers', values.followers, 100, 1, 1000),
      seconds: held,
      hold: holdPlan(held),
    };
  },
);
/**
 * How the worker holds `processPayment` for about `seconds`: the fewest attempts (each waiting at most 8 s, under
 * the 10 s attempt timeout) whose waits plus the retry backoff between them add up to it.
 */
function holdPlan(seconds: number): { spec: string; attempts: number; delayMs: number } {
  const { initialInterval, backoffCoefficient, maximumInterval, maximumAttempts } = participantCall.retry;
  const backoffMs = (retries: number) => {
    let sum = 0;
    for (let i = 0; i < retries; i++) {
      sum += Math.min(parseInt(initialInterval) * backoffCoefficient ** i, parseInt(maximumInterval)) * 1000;
    }
    return sum;
  };
  for (let attempts = 1; attempts <= maximumAttempts; attempts++) {
    const delayMs = Math.round((seconds * 1000 - backoffMs(attempts - 1)) / attempts);
    if (delayMs <= 0) break;
    if (delayMs <= 8_000) {
      const spec = `${attempts > 1 ? `processPayment:fail=${attempts - 1},` : ''}processPayment:delayMs=${delayMs}`;
      return { spec, attempts, delayMs };
    }
  }
  throw new UsageError(`--seconds ${seconds}: no number of attempts holds the payment that long`);
}

/** How often each client of the old event stream made the API read the saga (api/app.ts `eventsPollMs`). */
const POLL_MS = 300;
/** A phase that has not ended this long after its payment delay has failed. */
const PHASE_TIMEOUT_MS = seconds * 1000 + 120_000;
/** Pause before each phase and before reading the dev server's query count after it. */
const SETTLE_MS = 3_000;
const COUNTRY = 'IE';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const root = path.join(__dirname, '..');

type Role = 'temporal dev server' | 'worker' | 'api' | 'ferretdb';
const ROLES: Role[] = ['temporal dev server', 'worker', 'api', 'ferretdb'];
const KEYS = [...ROLES, 'driver'] as const;
/** CPU seconds (or %) by process; `driver` is this process (the clients). */
type Cpu = Record<(typeof KEYS)[number], number>;

interface PhaseResult {
  phase: 'with' | 'without' | 'no client';
  what: string;
  orderId: string;
  seconds: number;
  /** CPU seconds over the window. */
  cpu: Cpu;
  /** Percentage of one core over the window. */
  cpuPercent: Cpu;
  /**
   * QueryWorkflow requests the dev server's frontend counted in the window, and how many of them it refused with
   * ResourceExhausted/BusyWorkflow (its buffer of queries waiting for a workflow task in progress was full; the
   * client retries those); null if its metrics did not answer.
   */
  temporalQueries: { requests: number; refusedBusy: number } | null;
  /** HTTP requests the clients sent (each stream is one). */
  httpRequests: number;
  /** What the clients received and how it was checked. */
  check: string;
  loadAverage: string;
}

interface SseEvent {
  event: string;
  data: unknown;
  id?: string;
}

interface Api {
  url: string;
  headers: Record<string, string>;
}

async function call(
  api: Api,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${api.url}${route}`, {
    method,
    headers: api.headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function expectStatus(api: Api, method: string, route: string, body: unknown, want: number) {
  const r = await call(api, method, route, body);
  if (r.status !== want)
    throw new Error(`${method} ${route}: ${r.status}, expected ${want}: ${JSON.stringify(r.body)}`);
  return r.body as Record<string, unknown>;
}

/** One event-stream client: reads `GET /orders/{id}/events` until the server closes it. */
async function follow(api: Api, orderId: string, signal: AbortSignal): Promise<SseEvent[]> {
  const res = await fetch(`${api.url}/orders/${orderId}/events`, { headers: api.headers, signal });
  if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
    throw new Error(`GET /orders/${orderId}/events: ${res.status} ${(await res.text()).slice(0, 200)}`);
  }
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || !line.includes(':')) continue; // a comment (keep-alive)
        const colon = line.indexOf(':');
        fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
      }
      if (fields.event === undefined) continue; // `retry:`
      events.push({ event: fields.event, data: JSON.parse(fields.data ?? 'null'), id: fields.id });
    }
  }
  return events;
}

/**
 * One polling client: `GET /orders/{id}` every POLL_MS until it is COMPLETED. A 503 (the API's Temporal call did
 * not answer in time) is counted and polled again, as a client would; any other failure ends the run.
 */
async function poll(
  api: Api,
  orderId: string,
  signal: AbortSignal,
): Promise<{ requests: number; unavailable: number; answerMs: number }> {
  let unavailable = 0;
  let answerMs = 0;
  for (let requests = 1; ; requests++) {
    const t = performance.now();
    const r = await call(api, 'GET', `/orders/${orderId}`);
    answerMs += performance.now() - t;
    if (r.status === 503) unavailable++;
    else if (r.status !== 200) throw new Error(`GET /orders/${orderId}: ${r.status} ${JSON.stringify(r.body)}`);
    const status = r.status === 503 ? 'RUNNING' : (r.body as { status: string }).status;
    if (status === 'COMPLETED') return { requests, unavailable, answerMs };
    if (status !== 'RUNNING') throw new Error(`order ${orderId} is ${status}, expected it to complete`);
    if (signal.aborted) throw new Error(`order ${orderId} still ${status} after ${PHASE_TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

/** The dev server frontend's counts of QueryWorkflow requests so far (its Prometheus metrics), or null. */
async function queriesSoFar(metricsUrl: string): Promise<{ requests: number; refusedBusy: number } | null> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
    const sum = (pattern: RegExp) =>
      text
        .split('\n')
        .filter((line) => pattern.test(line))
        .reduce((a, line) => a + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    const frontend = '(?=.*operation="QueryWorkflow")(?=.*service_name="frontend")';
    return {
      requests: sum(new RegExp(`^service_requests\\{${frontend}`)),
      refusedBusy: sum(new RegExp(`^service_errors_resource_exhausted\\{${frontend}(?=.*cause="BusyWorkflow")`)),
    };
  } catch {
    return null;
  }
}

function machine() {
  return {
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

const f2 = (x: number) => x.toFixed(2);
/** For the JSON: CPU seconds are read in 10 ms ticks; more digits than these are noise. */
const round = (x: number) => (Number.isInteger(x) ? x : Number(x.toFixed(3)));
const pct = (x: number) => `${x.toFixed(0)}%`;
const cell = (r: PhaseResult, roles: Role[]) => {
  const s = roles.reduce((a, k) => a + r.cpu[k], 0);
  const p = roles.reduce((a, k) => a + r.cpuPercent[k], 0);
  return `${f2(s)} (${pct(p)})`;
};

const queriesText = ({ temporalQueries: q }: PhaseResult) =>
  q === null ? '–' : `${q.requests}${q.refusedBusy ? ` (${q.refusedBusy} refused busy)` : ''}`;

function tableLines(results: PhaseResult[]): string[] {
  const L = [
    '| phase | window s | Temporal dev server | worker | API | FerretDB | worker + dev server | all four | driver (the clients) | Temporal queries | HTTP requests |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    L.push(
      `| ${r.phase} | ${r.seconds.toFixed(1)} | ${ROLES.map((k) => cell(r, [k])).join(' | ')} | ${cell(r, ['worker', 'temporal dev server'])} | ${cell(r, ROLES)} | ${f2(r.cpu.driver)} (${pct(r.cpuPercent.driver)}) | ${queriesText(r)} | ${r.httpRequests} |`,
    );
  }
  return L;
}

function renderMarkdown(report: {
  date: string;
  machine: ReturnType<typeof machine>;
  loadAverage: { start: string; end: string };
  config: { followers: number; paymentHoldSeconds: number; sagaFaults: string; pollMs: number };
  results: PhaseResult[];
}): string {
  const { followers: n, paymentHoldSeconds: s, sagaFaults, pollMs } = report.config;
  const by = (p: PhaseResult['phase']) => report.results.find((r) => r.phase === p);
  const withR = by('with');
  const withoutR = by('without');
  const L = [
    `# Following a saga: ${n} clients`,
    '',
    `Run ${report.date}. Machine: ${Object.entries(report.machine)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.`,
    `Load average (1/5/15 min) at start: ${report.loadAverage.start}; at end: ${report.loadAverage.end} — the cores may be shared with other work; compare the phases within this run.`,
    '',
    `\`npx tsx bench/follow.ts --followers ${n} --seconds ${s}\`: one Temporal dev server (SQLite file, WAL), one worker process (\`SAGA_FAULTS=${sagaFaults}\`: each saga is held about ${s} s in its payment step, its attempts' waits and the retry backoff between them, as no single attempt may take 10 s), one API process (bearer API key), one FerretDB, the same for every phase. Each phase runs one order saga of its own, measured from right after \`POST /orders\` answered 202:`,
    '',
    `- **with** (what we ship): ${n} clients on \`GET /orders/{id}/events\`, each reading until the server closes the stream (the API's one feed of the saga reads its domain events every ${pollMs} ms and its state only when new ones came).`,
    `- **without** (what each client cost before, simulated): ${n} clients each polling \`GET /orders/{id}\` every ${pollMs} ms until COMPLETED: one Temporal query per request, what each event-stream client made the API do before; the API also parses and authenticates each request, which the old stream did not.`,
    '- **no client**: the same saga with nobody following it (the driver waits on its own Temporal client): the saga and the idle processes.',
    '',
    'CPU seconds over the window (and % of one core over it):',
    '',
    ...tableLines(report.results),
    '',
  ];
  if (withR && withoutR) {
    const sum = (r: PhaseResult, roles: Role[]) => roles.reduce((a, k) => a + r.cpu[k], 0);
    const wt: Role[] = ['worker', 'temporal dev server'];
    L.push(
      `Worker + dev server: ${f2(sum(withoutR, wt))} s without, ${f2(sum(withR, wt))} s with (${(sum(withoutR, wt) / Math.max(0.01, sum(withR, wt))).toFixed(1)}×); all four processes: ${f2(sum(withoutR, ROLES))} s without, ${f2(sum(withR, ROLES))} s with.`,
      '',
    );
  }
  L.push('Checks:', '');
  for (const r of report.results) L.push(`- ${r.phase}: ${r.check}`);
  L.push(
    '',
    'CPU: /proc utime+stime of each process tree, read right before and right after the window; 10 ms resolution. Temporal queries: `service_requests{operation="QueryWorkflow",service_name="frontend"}` of the dev server (`--metrics-port`) before and after, with `service_errors_resource_exhausted{cause="BusyWorkflow"}` of them ("refused busy": queries that arrived while the saga\'s workflow task ran and found the server\'s buffer of waiting queries full; the client retries them, each retry counted again). HTTP requests: what the clients sent (a stream is one). The driver is this benchmark\'s own process, the clients; not part of the sums.',
    '',
  );
  return L.join('\n');
}

async function main(): Promise<void> {
  // As shipped: payloads encrypted with a key ring of the run's own unless one is given.
  if (!process.env.PAYLOAD_KEYS && process.env.PAYLOAD_ENCRYPTION !== 'off') {
    Object.assign(process.env, generateKeyRingEnv('bench'));
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.resolve(root, '.data', 'bench', `follow-${stamp}`);
  fs.mkdirSync(dir, { recursive: true });
  const loadAtStart = loadAverage();
  console.log(
    `${followers} followers, payment held ${seconds} s (SAGA_FAULTS=${hold.spec}); logs in ${dir}; load average ${loadAtStart}`,
  );

  const ferret = await startFerretDb({
    port: await freePort(),
    dataDir: path.join(dir, 'ferretdb'),
    logFile: path.join(dir, 'ferretdb.log'),
  });
  const metricsPort = await freePort();
  // as bench/lib/servers.ts startTemporal(dir, 'wal'), with the server's metrics on
  const temporal = await startTemporalDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.db'),
    sqlite: 'wal',
    metricsPort,
    logFile: path.join(dir, 'temporal.log'),
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const env: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: temporal.address,
    MONGODB_URI: ferret.uri,
    MONGODB_DB: 'bench_follow',
    TASK_QUEUE: 'bench-follow',
    SERVED_COUNTRIES: COUNTRY,
    ...payloadKeyEnv(),
  };
  const worker = await startNodeProcess(
    'worker',
    path.join(root, 'bootstrap', 'worker-main.ts'),
    dir,
    { ...env, SAGA_FAULTS: hold.spec },
    'Worker polling',
  );
  const port = await freePort();
  const { key } = generateApiKey();
  const apiProc = await startNodeProcess(
    'api',
    path.join(root, 'bootstrap', 'api-main.ts'),
    dir,
    {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
      API_AUTH: 'on',
      // the hash only, as a deployment gives it; reader for the reads, writer for the seeds and starts
      API_KEYS: `bench:reader+writer:${hashApiKey(key)}`,
      ...BENCH_API_SETTINGS,
    },
    'API listening on',
  );
  const processes: Record<Role, ManagedProcess> = {
    'temporal dev server': temporal.process,
    worker,
    api: apiProc,
    ferretdb: ferret.process,
  };
  const api: Api = {
    url: `http://127.0.0.1:${port}`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  };
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, dataConverter: dataConverterFromEnv() });

  // Seeds, through the API as users create them: one customer per saga, a product, a van.
  const runTag = Date.now().toString(36);
  const sku = `follow-${runTag}`;
  await expectStatus(api, 'POST', '/products', { sku, name: 'Product', price: 10, stock: 1_000_000 }, 201);
  await expectStatus(api, 'POST', '/vehicles', { name: 'Van', capacityPerDay: 100_000 }, 201);
  const customer = async (name: string, creditLimit: number) =>
    (await expectStatus(api, 'POST', '/customers', { id: `${name}-${runTag}`, name, creditLimit }, 201)).id as string;
  const order = (customerId: string, tag: string) => ({
    orderId: `follow-${runTag}-${tag}`,
    customerId,
    items: [{ sku, quantity: 2 }],
    payment: { token: 'tok_visa' },
    shippingAddress: { line1: '1 Main Street', city: 'Dublin', postalCode: 'D01 F5P2', country: COUNTRY },
    deliveryDate: '2030-01-15',
  });
  const start = async (customerId: string, tag: string) => {
    const body = order(customerId, tag);
    await expectStatus(api, 'POST', '/orders', body, 202);
    return body.orderId;
  };
  const cpuNow = (): Cpu => {
    const u = process.cpuUsage();
    const out = { driver: (u.user + u.system) / 1e6 } as Cpu;
    for (const k of ROLES) out[k] = treeCpuSeconds(processes[k].pid);
    return out;
  };

  /** Starts a saga and measures the window from right after its start until `body` resolves. */
  async function phase(
    name: PhaseResult['phase'],
    what: string,
    customerId: string,
    body: (orderId: string, signal: AbortSignal) => Promise<{ httpRequests: number; check: string }>,
  ): Promise<PhaseResult> {
    console.log(`${name}: ${what}`);
    // What the previous phase left running (the loyalty workflow's task after a completion) ends first, and the
    // dev server's metrics have reported its queries.
    await sleep(SETTLE_MS);
    const q0 = await queriesSoFar(metricsUrl);
    const orderId = await start(customerId, name.replace(/ /g, '-'));
    const c0 = cpuNow();
    const t0 = performance.now();
    const { httpRequests, check } = await body(orderId, AbortSignal.timeout(PHASE_TIMEOUT_MS));
    const elapsed = (performance.now() - t0) / 1000;
    const c1 = cpuNow();
    await sleep(SETTLE_MS); // the dev server reports its metrics once a second
    const q1 = await queriesSoFar(metricsUrl);
    const cpu = { ...c1 };
    const cpuPercent = { ...c1 };
    for (const k of KEYS) {
      cpu[k] = c1[k] - c0[k];
      cpuPercent[k] = (100 * cpu[k]) / elapsed;
    }
    const r: PhaseResult = {
      phase: name,
      what,
      orderId,
      seconds: elapsed,
      cpu,
      cpuPercent,
      temporalQueries:
        q0 === null || q1 === null
          ? null
          : { requests: q1.requests - q0.requests, refusedBusy: q1.refusedBusy - q0.refusedBusy },
      httpRequests,
      check,
      loadAverage: loadAverage(),
    };
    console.log(
      `  ${elapsed.toFixed(1)} s: ${ROLES.map((k) => `${k} ${f2(cpu[k])} s`).join(', ')}, driver ${f2(cpu.driver)} s; ${queriesText(r)} Temporal queries, ${httpRequests} HTTP requests; load ${r.loadAverage}`,
    );
    console.log(`  ${check}`);
    return r;
  }

  /** N event-stream clients; each must get the saga's whole stream, then `end`. */
  const streams = async (orderId: string, signal: AbortSignal, n: number) => {
    const received = await Promise.all(Array.from({ length: n }, () => follow(api, orderId, signal)));
    const stream = (await expectStatus(api, 'GET', `/orders/${orderId}/domain-events`, undefined, 200)) as unknown;
    if (!Array.isArray(stream) || stream.length === 0) throw new Error(`order ${orderId} has no domain events`);
    const last = (stream as { type: string }[]).at(-1)?.type;
    const bad = received
      .map((events, i) => {
        const domain = events.filter((e) => e.event === 'domain-event').map((e) => e.data);
        const end = events.at(-1);
        if (!isDeepStrictEqual(domain, stream))
          return `client ${i}: ${domain.length} domain events, not the stream's ${stream.length}`;
        if (end?.event !== 'end') return `client ${i}: the stream did not end with an end event (last: ${end?.event})`;
        if ((end.data as { status?: string }).status !== 'COMPLETED')
          return `client ${i}: ended with ${JSON.stringify(end.data)}`;
        return undefined;
      })
      .filter((x): x is string => x !== undefined);
    if (bad.length > 0)
      throw new Error(`${bad.length} of ${n} event-stream clients got a wrong stream: ${bad.slice(0, 5).join('; ')}`);
    const events = received.reduce((a, e) => a + e.length, 0);
    return {
      httpRequests: n,
      check: `all ${n} clients received the saga's ${stream.length} domain events (the list of GET /orders/{id}/domain-events, in order, the last ${last}) and then end with COMPLETED; ${events} SSE events in all`,
    };
  };

  // Warm-up, not measured: a saga that compensates at reserveCredit (before the held payment), followed by a few
  // streams and polled by a few clients, so that both paths of the API and the worker's bundle are warm.
  console.log('warm-up: a saga that compensates at reserveCredit, 3 streams and 3 pollers');
  const warm = await start(await customer('warm', 0), 'warm');
  const warmStreams = Promise.all([1, 2, 3].map(() => follow(api, warm, AbortSignal.timeout(60_000))));
  await Promise.all(
    [1, 2, 3].map(async () => {
      for (;;) {
        const r = await call(api, 'GET', `/orders/${warm}`);
        if (r.status === 200 && (r.body as { status: string }).status === 'COMPENSATED') return;
        await sleep(POLL_MS);
      }
    }),
  );
  for (const events of await warmStreams) {
    if (events.at(-1)?.event !== 'end')
      throw new Error(`warm-up stream ended without end: ${JSON.stringify(events.at(-1))}`);
  }

  const results: PhaseResult[] = [];
  results.push(
    await phase(
      'with',
      `${followers} clients on GET /orders/{id}/events until each stream ends`,
      await customer('with', 1_000_000),
      (orderId, signal) => streams(orderId, signal, followers),
    ),
  );
  results.push(
    await phase(
      'without',
      `${followers} clients each polling GET /orders/{id} every ${POLL_MS} ms until COMPLETED`,
      await customer('without', 1_000_000),
      async (orderId, signal) => {
        const polled = await Promise.all(Array.from({ length: followers }, () => poll(api, orderId, signal)));
        const counts = polled.map((p) => p.requests);
        const unavailable = polled.reduce((a, p) => a + p.unavailable, 0);
        const requests = counts.reduce((a, b) => a + b, 0);
        const answerMs = polled.reduce((a, p) => a + p.answerMs, 0) / requests;
        return {
          httpRequests: requests,
          check: `all ${followers} clients saw COMPLETED, after ${Math.min(...counts)}–${Math.max(...counts)} requests each; ${unavailable ? `${unavailable} answers were 503 (polled again), the others 200` : 'every answer 200'}; an answer took ${answerMs.toFixed(0)} ms on average, so each client asked about every ${(answerMs + POLL_MS).toFixed(0)} ms, not every ${POLL_MS} ms (the old stream too read, then waited ${POLL_MS} ms)`,
        };
      },
    ),
  );
  results.push(
    await phase(
      'no client',
      'nobody follows the saga; the driver waits for its result on its Temporal client',
      await customer('alone', 1_000_000),
      async (orderId) => {
        const state = (await sagaResult(client.workflow.getHandle(orderWorkflowId(orderId)))) as { status: string };
        if (state.status !== 'COMPLETED') throw new Error(`order ${orderId} is ${state.status}, expected COMPLETED`);
        return { httpRequests: 0, check: 'the saga completed' };
      },
    ),
  );

  await connection.close();
  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    loadAverage: { start: loadAtStart, end: loadAverage() },
    config: { followers, paymentHoldSeconds: seconds, sagaFaults: hold.spec, pollMs: POLL_MS },
    results,
  };
  console.log(['', ...tableLines(results), ''].join('\n'));
  const out = path.join(__dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  // Formatted as `npm run format` would (the repository checks it).
  const options = (await prettier.resolveConfig(path.join(out, 'follow.md'))) ?? {};
  fs.writeFileSync(
    path.join(out, 'follow.json'),
    await prettier.format(
      JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' ? round(v) : v), 2),
      {
        ...options,
        parser: 'json',
      },
    ),
  );
  fs.writeFileSync(
    path.join(out, 'follow.md'),
    await prettier.format(renderMarkdown(report), { ...options, parser: 'markdown' }),
  );
  console.log(`results: bench/results/follow.{md,json}; raw logs in ${dir}`);
}

runMain(main);

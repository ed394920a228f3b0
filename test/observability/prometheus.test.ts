import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { payloadKeyEnv } from '../../codec/data-converter';
import { hashApiKey } from '../../store/api-keys';
import {
  freePort,
  spawnManaged,
  startTemporalDevServer,
  type ManagedProcess,
  type TemporalDevServer,
} from '../../scripts/lib/servers';
import { orderBody, unique, type Seeded } from '../support/fixtures';
import { http, requireEnv } from '../support/harness';
import { testApiKeysEntry } from '../support/lane';
import { eventually, killIfRunning, startProcess } from '../api/support';

/**
 * A real Prometheus (Debian's `prometheus`, PROMETHEUS_BIN overrides it; or the one PROMETHEUS_URL names, which
 * discovers this run's targets in the files it writes to PROMETHEUS_SD_DIR with the job of
 * observability/prometheus/test-targets.yml) scrapes the three things an operator
 * watches: the API's `/metrics` (with a credential of the `metrics` role only), the worker's SDK exporter
 * (WORKER_METRICS_ADDRESS) and the Temporal dev server's own metrics (`--metrics-port`). The worker and the API run
 * as the real entry points, in processes of their own (the SDK's Runtime, and so its exporter, is installed once
 * per process; this jest process already has one), against a dev server of this test's own. Sagas with known
 * outcomes run, and Prometheus' HTTP API must give exactly their counts by outcome.
 *
 * Every series this test reads is of this run only (its `test_run` label), so a shared Prometheus works too.
 *
 * Replays must not count: once the counts are in, every saga's state is read several times more, and each read of a
 * closed saga makes the worker rebuild it by replaying its whole history (a closed run is not kept in its cache);
 * a metric emitted during replay would then be counted again and the exact counts would fail.
 */
const prometheusBin = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';
const userPrometheus = process.env.PROMETHEUS_URL?.replace(/\/+$/, '');
const taskQueue = unique('metrics');
const testRun = taskQueue.replace(/[^A-Za-z0-9_-]/g, '_');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prometheus-test-'));
/** Where the target files and the scrape credential go: the user's Prometheus reads them from there. */
const sdDir = userPrometheus ? requireEnv('PROMETHEUS_SD_DIR') : path.join(dir, 'sd');
const targetsFile = path.join(sdDir, `${testRun}.json`);
const shippedJob = path.join(__dirname, '../../observability/prometheus/test-targets.yml');
const metricsKey = `sk_scrape_${randomBytes(16).toString('hex')}`;

let temporal: TemporalDevServer;
let prometheus: ManagedProcess | undefined;
let prometheusUrl: string;
let apiUrl: string;
const children: ReturnType<typeof startProcess>[] = [];

/** This run's series of a metric: `name{test_run="…",extra}`. */
const ours = (name: string, extra = '') => `${name}{test_run="${testRun}"${extra ? `, ${extra}` : ''}}`;

/** Asks Prometheus for an instant vector; each sample as its labels and value. */
async function query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** `sum by (label) (…)` as { labelValue: value }. */
async function byLabel(label: string, promql: string): Promise<Record<string, number>> {
  const samples = await query(`sum by (${label}) (${promql})`);
  return Object.fromEntries(samples.map((s) => [s.metric[label] ?? '', s.value]));
}

async function orderStatus(orderId: string): Promise<string | undefined> {
  const res = await http(apiUrl, 'GET', `/orders/${orderId}`);
  return res.status === 200 ? (res.body as { status: string }).status : undefined;
}

beforeAll(async () => {
  if (!userPrometheus) expect(fs.existsSync(prometheusBin)).toBe(true); // installed by scripts/setup.sh
  const [port, uiPort, temporalMetricsPort, workerMetricsPort, prometheusPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  temporal = await startTemporalDevServer({
    port,
    uiPort,
    metricsPort: temporalMetricsPort,
    logFile: path.join(dir, 'temporal.log'),
    truncateLog: true,
  });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    TEMPORAL_ADDRESS: temporal.address,
    MONGODB_URI: requireEnv('MONGODB_URI'),
    MONGODB_DB: `${requireEnv('MONGODB_DB')}_${taskQueue}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60),
    TASK_QUEUE: taskQueue,
    HOST: '127.0.0.1',
    PORT: '0',
    WORKFLOW_BUNDLE_PATH: requireEnv('WORKFLOW_BUNDLE_PATH'),
    ...payloadKeyEnv(),
    API_KEYS: `${testApiKeysEntry()},scrape:metrics:${hashApiKey(metricsKey)}`,
    SERVED_COUNTRIES: 'IE',
  };
  const worker = startProcess('bootstrap/worker-main.ts', /Worker polling/, {
    ...env,
    WORKER_METRICS_ADDRESS: `127.0.0.1:${workerMetricsPort}`,
    // A vehicle that is not available makes the saga compensate from its last step, and the shipment's
    // compensation then fails for good: that saga is FAILED. Other sagas never reach that compensation.
    SAGA_FAULTS: 'cancelShipment:fatal=always',
  });
  children.push(worker);
  await worker.started;
  const api = startProcess('bootstrap/api-main.ts', /listening on http:\/\/127\.0\.0\.1:(\d+)/, env);
  children.push(api);
  apiUrl = `http://127.0.0.1:${(await api.started)[1]}`;

  // The targets, each with its job and this run's label; the credential the job sends (the API checks it).
  fs.mkdirSync(sdDir, { recursive: true });
  fs.writeFileSync(path.join(sdDir, 'metrics-key'), metricsKey, { mode: 0o600 });
  const target = (job: string, address: string) => ({ targets: [address], labels: { job, test_run: testRun } });
  fs.writeFileSync(
    targetsFile,
    JSON.stringify([
      target('saga-api', new URL(apiUrl).host),
      target('saga-worker', `127.0.0.1:${workerMetricsPort}`),
      target('temporal', `127.0.0.1:${temporalMetricsPort}`),
    ]),
  );
  if (userPrometheus) {
    prometheusUrl = userPrometheus;
  } else {
    // The job shipped for a Prometheus of the user's, with this test's directory.
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), fs.readFileSync(shippedJob, 'utf8').replaceAll('SD_DIR', sdDir));
    prometheus = spawnManaged(
      'prometheus',
      prometheusBin,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      { logFile: path.join(dir, 'prometheus.log'), truncateLog: true },
    );
    prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  }
  await eventually(
    () =>
      fetch(`${prometheusUrl}/-/ready`).then(
        (r) => r.status,
        () => 0,
      ),
    (status) => status === 200,
    30_000,
    'Prometheus ready',
  );
}, 120_000);

afterAll(async () => {
  for (const child of children) {
    child.child.kill('SIGTERM');
    await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    killIfRunning(child.child);
  }
  await prometheus?.stop();
  fs.rmSync(targetsFile, { force: true });
  await temporal?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

test('Prometheus scrapes the API, the worker and the dev server, and counts the sagas by outcome exactly', async () => {
  // Every target is up: the API with its metrics-only credential, the worker's exporter, the dev server.
  await eventually(
    () => byLabel('job', ours('up')),
    (up) => up['saga-api'] === 1 && up['saga-worker'] === 1 && up.temporal === 1,
    30_000,
    'all three targets up',
  );

  const customerId = unique('cust');
  const sku = unique('sku');
  expect((await http(apiUrl, 'POST', '/customers', { id: customerId, name: 'C', creditLimit: 10_000 })).status).toBe(
    201,
  );
  expect((await http(apiUrl, 'POST', '/products', { sku, name: 'P', price: 10, stock: 1000 })).status).toBe(201);
  expect((await http(apiUrl, 'POST', '/vehicles', { id: unique('van'), name: 'Van', capacityPerDay: 3 })).status).toBe(
    201,
  );
  const s: Seeded = { customerId, sku };
  const start = async (overrides: Parameters<typeof orderBody>[1]) => {
    const body = orderBody(s, overrides);
    const res = await http(apiUrl, 'POST', '/orders', body);
    expect(res.status).toBe(202);
    return body.orderId;
  };
  const settle = (orderId: string, status: string) =>
    eventually(
      () => orderStatus(orderId),
      (st) => st === status,
      60_000,
    );

  // 3 complete (the van's whole capacity on that day), then one finds no van: compensation fails → FAILED.
  const completed = await Promise.all([1, 2, 3].map(() => start({ deliveryDate: '2027-03-01' })));
  for (const id of completed) await settle(id, 'COMPLETED');
  const failed = await start({ deliveryDate: '2027-03-01' });
  await settle(failed, 'FAILED');
  // 2 declined payments compensate.
  const declined = await Promise.all([1, 2].map(() => start({ token: 'tok_declined', deliveryDate: '2027-03-02' })));
  for (const id of declined) await settle(id, 'COMPENSATED');
  // The same order id again (409), a start without credential (401), one the validation refuses (400).
  expect((await http(apiUrl, 'POST', '/orders', orderBody(s, { orderId: completed[0] }))).status).toBe(409);
  expect((await http(apiUrl, 'POST', '/orders', orderBody(s), { authorization: '' })).status).toBe(401);
  expect((await http(apiUrl, 'POST', '/orders', { ...orderBody(s), items: [] })).status).toBe(400);

  const expected = { COMPLETED: 3, COMPENSATED: 2, FAILED: 1 };
  const finished = ours('saga_finished', `taskQueue="${taskQueue}", workflowType="orderSaga"`);
  await eventually(
    () => byLabel('outcome', finished),
    (got) => JSON.stringify(got) === JSON.stringify({ ...got, ...expected }) && Object.keys(got).length === 3,
    30_000,
    'saga outcomes in Prometheus',
  );
  await eventually(
    () => byLabel('status', ours('api_saga_starts_total', 'saga_type="orderSaga"')),
    (got) => got['202'] === 6 && got['409'] === 1 && got['401'] === 1 && got['400'] === 1,
    30_000,
    'saga starts by answer',
  );
  await eventually(
    () => byLabel('reason', ours('api_requests_refused_total')),
    (got) => got.authentication === 1 && got.validation === 1,
    30_000,
    'refusals by reason',
  );
  await eventually(
    () => byLabel('saga_type', ours('sagas_waiting_for_operator')),
    (got) => got.orderSaga === 1,
    30_000,
    'one saga waiting for an operator',
  );

  // Every closed saga's history replayed three more times by reads of its state; a few scrapes later, still exact.
  for (let i = 0; i < 3; i++) {
    for (const id of [...completed, ...declined]) expect(await orderStatus(id)).toBeDefined();
  }
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const outcomes = await byLabel('outcome', finished);
  expect(outcomes).toEqual(expected);
  expect(await byLabel('outcome', ours('saga_duration_count', `taskQueue="${taskQueue}"`))).toEqual(expected);
  // Each compensation counted once: 3 per declined payment, 1 released van and 1 failed shipment cancel.
  expect(await byLabel('outcome', ours('saga_compensations', `taskQueue="${taskQueue}"`))).toEqual({
    compensated: 2 * 3 + 1,
    failed: 1,
  });
  expect(await byLabel('outcome', ours('saga_operator_waits', `taskQueue="${taskQueue}"`))).toEqual({ '': 1 });
  // Requests are labelled by the table's path template, never the raw URL.
  const routes = await byLabel('route', ours('api_requests_total'));
  expect(routes['/orders/:orderId']).toBeGreaterThan(0);
  expect(Object.keys(routes).filter((r) => r.includes('ord-'))).toEqual([]);
  // The SDK's own metrics the alert rules use, and the dev server's.
  for (const name of [
    'temporal_workflow_task_schedule_to_start_latency_bucket',
    'temporal_activity_schedule_to_start_latency_bucket',
    'api_request_duration_seconds_bucket',
    'process_cpu_seconds_total',
  ]) {
    expect([name, (await query(`count(${ours(name)})`)).length]).toEqual([name, 1]);
  }
  expect((await query(`count({job="temporal", test_run="${testRun}"})`))[0]?.value).toBeGreaterThan(10);
}, 240_000);

/**
 * The chaos scenario: many concurrent order sagas with random business failures and random transient faults
 * (the SAGA_FAULTS hook), while the worker - a real child process - is killed with SIGKILL and started again, and
 * optionally servers are restarted. Afterwards every saga must be final and the participants' data must account
 * exactly for the completed sagas (`invariants.ts`).
 *
 * Used by `npm run chaos` (scripts/chaos.ts, its own servers) and by the tests in `test/faults/` (smaller runs).
 *
 * Only one worker process writes to the database at a time: FerretDB v1 does not apply concurrent conditional
 * updates atomically, and `store/serialize.ts` serializes them within one process only. A killed worker is
 * therefore waited for until its whole process group is gone before the next one starts.
 */
import { inLanes } from './lanes';
import { startProgress } from './progress';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { dataConverterFromEnv, payloadKeyEnv } from '../../codec/data-converter';
import { connectMongo } from '../../store/db';
import { createApp } from '../../api/app';
import { localCredential } from './credential';
import { getStateQuery } from '../../common/definitions';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { checkInvariants, readBaseline, type Baseline, type InvariantReport, type SagaOutcome } from './invariants';
import { spawnManaged, waitForLogLine, type ManagedProcess } from './processes';
import { sleep } from './wait';
import { secretBoxFromEnv } from '../../codec/secret-box';
import { countOutboxMarkers } from '../../store/outbox';
import { webhookCollections } from '../../store/webhooks';
import {
  checkEdge,
  startEventRecorder,
  startWebhookReceiver,
  type EdgeReport,
  type EventRecorder,
  type WebhookReceiver,
} from './chaos-edge';

// ---------------------------------------------------------------------------------------------------------------
// The worker as a child process
// ---------------------------------------------------------------------------------------------------------------

/**
 * Starts `bootstrap/worker-main.ts` (`node --import tsx`, one process) with `env` and resolves once it polls. Its output
 * goes to `logFile`. `kill9()` resolves once every process of its group is gone.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv, logFile: string): Promise<ManagedProcess> {
  const proc = spawnManaged('worker', process.execPath, ['--import', 'tsx', 'bootstrap/worker-main.ts'], {
    env: { ...env, PATH: process.env.PATH, HOME: process.env.HOME },
    logFile,
    truncateLog: true,
    stopTimeoutMs: 10_000,
  });
  await waitForLogLine(proc, 'Worker polling');
  return proc;
}

/** The entry points of the event-driven edge, started like the worker: `node --import tsx <file>`. */
const edgeProcesses = {
  relay: { file: 'bootstrap/relay-main.ts', ready: 'Relay publishing the outbox' },
  webhooks: { file: 'bootstrap/webhooks-main.ts', ready: 'Webhook dispatcher sending to' },
  carrier: { file: 'bootstrap/carrier-main.ts', ready: 'Carrier consuming commands' },
} as const;
type EdgeProcess = keyof typeof edgeProcesses;

async function startEdgeProcess(kind: EdgeProcess, env: NodeJS.ProcessEnv, logFile: string): Promise<ManagedProcess> {
  const proc = spawnManaged(kind, process.execPath, ['--import', 'tsx', edgeProcesses[kind].file], {
    env: { ...env, PATH: process.env.PATH, HOME: process.env.HOME },
    logFile,
    truncateLog: true,
    stopTimeoutMs: 10_000,
  });
  await waitForLogLine(proc, edgeProcesses[kind].ready, 120_000);
  return proc;
}

// ---------------------------------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------------------------------

/** A server the scenario may restart mid-run (stop, wait `downtimeMs`, start on the same port and data). */
export interface RestartableServer {
  name: string;
  restart(downtimeMs: number): Promise<void>;
}

export interface ChaosOptions {
  temporalAddress: string;
  mongoUri: string;
  /** A fresh database for this run. */
  dbName: string;
  /** A task queue of its own: no other worker may poll it. */
  taskQueue: string;
  sagas: number;
  /** Worker SIGKILLs (each followed by a new worker). */
  kills: number;
  /** SAGA_FAULTS of the workers; default: random transient faults and a small delay in every activity. */
  faults?: string;
  /** Server restarts, spread over the run, cycling through `servers`. */
  serverRestarts?: number;
  servers?: RestartableServer[];
  /** How long a restarted server stays down. */
  downtimeMs?: number;
  /** A prebuilt workflow bundle for the workers (faster starts). */
  workflowBundlePath?: string;
  /** Where worker logs go. */
  logDir: string;
  /** Random seed: the same seed gives the same orders and the same schedule of kills. */
  seed?: number;
  /** Give up waiting for the sagas after this long. */
  timeoutMs?: number;
  log?: (message: string) => void;
  /** Drop the database at the end (tests). */
  dropDatabase?: boolean;
  /**
   * The event-driven edge (docs/faults.md): with it, the outbox relay, the webhook dispatcher and (CARRIER=broker)
   * the carrier run as child processes against RabbitMQ at `amqpUrl`, a consumer of this process records what
   * reaches `saga.events`, and a subscription sends every event to a receiver of this process.
   */
  edge?: EdgeOptions;
}

export interface EdgeOptions {
  amqpUrl: string;
  /** `broker` (default): the worker reaches the carrier process over RabbitMQ; `in-process`: no carrier process. */
  carrier?: 'broker' | 'in-process';
  /** Carrier-process SIGKILLs (each followed by a new carrier); only with carrier `broker`. */
  carrierKills?: number;
  /** RabbitMQ restarts (needs `broker`). */
  brokerRestarts?: number;
  broker?: RestartableServer;
  /** Share of webhook requests the receiver answers 500 (default 0.15): the dispatcher retries them. */
  webhookErrorRate?: number;
}

export interface ChaosResult {
  started: number;
  completed: number;
  compensated: number;
  failed: number;
  stillRunning: number;
  invariants: InvariantReport;
  workerKills: number;
  /** Workers that exited on their own and were started again. */
  workerCrashes: number;
  serverRestarts: number;
  brokerRestarts: number;
  carrierKills: number;
  /** The edge's checks and counts (undefined without `edge`). */
  edge?: EdgeReport;
  /** Sagas in progress (RUNNING or COMPENSATING) when each kill or restart landed. */
  inProgressAtFaults: number[];
  /** Steps and compensations that took more than one attempt. */
  retriedSteps: number;
  /** API answers 503 (a server restarting), each retried with the same Idempotency-Key. */
  apiUnavailable: number;
  durationMs: number;
  states: (OrderState | null)[];
  /** What the invariants were checked against (to check them again). */
  outcomes: SagaOutcome[];
  baseline: Baseline;
}

export const DEFAULT_CHAOS_FAULTS = '*:rate=0.08,*:loseRate=0.04,*:delayMs=150';

/** mulberry32: a small seeded PRNG. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const rnd = random(options.seed ?? Date.now());
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const began = Date.now();
  const run = `${options.taskQueue}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(-24);

  const { client: mongo, db } = await connectMongo(options.mongoUri, options.dbName);
  const connection = await Connection.connect({ address: options.temporalAddress });
  const temporal = new Client({ connection, dataConverter: dataConverterFromEnv() });
  const credential = localCredential('chaos');
  // Its own API, driven by this run alone: no rate limit to distort the load it means to apply.
  const app = createApp({
    temporal,
    db,
    taskQueue: options.taskQueue,
    bodyLimit: 100_000,
    auth: credential.authenticator,
    rateLimit: 'off',
    webhooks: { allowedHosts: ['localhost'], secrets: secretBoxFromEnv() },
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /** POST with retries: 503 and network errors are retried (a server may be restarting); others are final. */
  async function post(pathname: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${baseUrl}${pathname}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...credential.headers, ...headers },
          body: JSON.stringify(body),
        });
        await res.arrayBuffer();
        if (res.status === 503) apiUnavailable++;
        if (res.status !== 503 || attempt >= 60) return res.status;
      } catch (err) {
        if (attempt >= 60) throw err;
      }
      await sleep(500);
    }
  }

  let apiUnavailable = 0;
  // The API logs one line per 503 while a server restarts; the count goes into the result instead.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /^(GET|POST) \//.test(args[0])) return;
    warn(...args);
  };

  let worker: ManagedProcess | undefined;
  let workerCount = 0;
  let workerCrashes = 0;
  let stopping = false;
  let killing = false;
  const workerEnv: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: options.temporalAddress,
    MONGODB_URI: options.mongoUri,
    MONGODB_DB: options.dbName,
    TASK_QUEUE: options.taskQueue,
    SAGA_FAULTS: options.faults ?? DEFAULT_CHAOS_FAULTS,
    WORKER_SHUTDOWN_GRACE_SECONDS: '2',
    // the same key ring as this process's client (npm test's, or the one scripts/chaos.ts made)
    ...payloadKeyEnv(),
    ...(options.workflowBundlePath ? { WORKFLOW_BUNDLE_PATH: options.workflowBundlePath } : {}),
  };
  const edge = options.edge;
  const brokerCarrier = edge !== undefined && (edge.carrier ?? 'broker') === 'broker';
  const edgeEnv: NodeJS.ProcessEnv = edge
    ? {
        MONGODB_URI: options.mongoUri,
        MONGODB_DB: options.dbName,
        TEMPORAL_ADDRESS: options.temporalAddress,
        AMQP_URL: edge.amqpUrl,
        CARRIER_COMMAND_QUEUE: `chaos.${run}.carrier`,
        WEBHOOK_QUEUE: `chaos.${run}.webhooks`,
        WEBHOOK_ALLOWED_HOSTS: 'localhost',
        WEBHOOK_RETRY_BASE_SECONDS: '0.2',
        WEBHOOK_RETRY_MAX_DELAY_SECONDS: '2',
        WEBHOOK_RETRY_HORIZON_SECONDS: '600',
        WEBHOOK_POLL_SECONDS: '0.2',
        WEBHOOK_DISABLE_AFTER_FAILURES: '1000',
        RELAY_POLL_MS: '100',
        ...payloadKeyEnv(),
      }
    : {};
  if (edge) Object.assign(workerEnv, edgeEnv, brokerCarrier ? { CARRIER: 'broker' } : {});
  const edgeProcs: Partial<Record<EdgeProcess, ManagedProcess>> = {};
  const edgeCounts: Record<EdgeProcess, number> = { relay: 0, webhooks: 0, carrier: 0 };
  let carrierKilling = false;
  const startEdge = async (kind: EdgeProcess): Promise<void> => {
    edgeCounts[kind]++;
    const logFile = path.join(options.logDir, `chaos-${kind}-${run}-${edgeCounts[kind]}.log`);
    const mine = await startEdgeProcess(kind, edgeEnv, logFile);
    edgeProcs[kind] = mine;
    void mine.exited.then(async () => {
      if (stopping || mine.isStopping() || edgeProcs[kind] !== mine || (kind === 'carrier' && carrierKilling)) return;
      workerCrashes++;
      log(`${kind} process exited by itself (see its log); starting another`);
      await startEdge(kind);
    });
  };
  let recorder: EventRecorder | undefined;
  let receiver: WebhookReceiver | undefined;

  const startWorker = async () => {
    workerCount++;
    const logFile = path.join(options.logDir, `chaos-worker-${run}-${workerCount}.log`);
    worker = await startWorkerProcess(workerEnv, logFile);
    const mine = worker;
    // A worker that dies by itself (not killed by us) is started again, as a supervisor would.
    void mine.exited.then(async () => {
      if (stopping || mine.isStopping() || worker !== mine || killing) return;
      workerCrashes++;
      log(`worker ${workerCount} exited by itself (see its log); starting another`);
      await startWorker();
    });
  };

  const inProgress = async (): Promise<number> =>
    Number(
      (
        await temporal.workflow.count(
          `WorkflowType = '${ORDER_SAGA}' AND TaskQueue = '${options.taskQueue}' AND ` +
            `ExecutionStatus = 'Running' AND SagaStatus IN ('RUNNING', 'COMPENSATING')`,
        )
      ).count,
    );

  try {
    // Scarce participants, so that sagas compete and many fail for business reasons.
    const n = options.sagas;
    const customers = Array.from({ length: 4 }, (_, i) => ({
      id: `chaos-${run}-c${i}`,
      name: `Chaos customer ${i}`,
      creditLimit: Math.ceil(n / 4) * 14,
    }));
    const products = [
      { sku: `chaos-${run}-p0`, name: 'Widget', price: 10, stock: Math.ceil(n * 0.6) },
      { sku: `chaos-${run}-p1`, name: 'Gadget', price: 7.5, stock: Math.ceil(n * 0.6) },
      { sku: `chaos-${run}-p2`, name: 'Gizmo', price: 3.33, stock: Math.ceil(n * 1.5) },
    ];
    const dates = ['2027-09-01', '2027-09-02', '2027-09-03'];
    const vehicles = [
      { id: `chaos-${run}-v0`, name: 'Van 0', capacityPerDay: Math.max(1, Math.ceil(n / 8)) },
      { id: `chaos-${run}-v1`, name: 'Van 1', capacityPerDay: Math.max(1, Math.ceil(n / 10)) },
    ];
    for (const c of customers) await post('/customers', c);
    for (const p of products) await post('/products', p);
    for (const v of vehicles) await post('/vehicles', v);
    const baseline = await readBaseline(
      db,
      customers.map((c) => c.id),
      products.map((p) => p.sku),
    );

    const orders: OrderSagaInput[] = Array.from({ length: n }, (_, i) => {
      const lines = rnd() < 0.3 ? 2 : 1;
      const skus = [...products].sort(() => rnd() - 0.5).slice(0, lines);
      return {
        orderId: `chaos-${run}-o${i}`,
        customerId: pick(customers).id,
        items: skus.map((p) => ({ sku: p.sku, quantity: 1 + Math.floor(rnd() * 3) })),
        payment: { token: rnd() < 0.08 ? 'tok_declined' : 'tok_visa' },
        shippingAddress: {
          line1: '1 Chaos Lane',
          city: 'Dublin',
          postalCode: 'D01',
          country: rnd() < 0.06 ? 'AQ' : 'IE',
        },
        deliveryDate: pick(dates),
      };
    });

    let subscriptionId = '';
    if (edge) {
      // Before the first saga: the recorder's queue is bound, the subscription exists, the processes run.
      const ours = new Set(orders.map((o) => o.orderId));
      recorder = await startEventRecorder(edge.amqpUrl, `chaos.${run}.recorder`, (id) => ours.has(id));
      receiver = await startWebhookReceiver(edge.webhookErrorRate ?? 0.15, rnd);
      const res = await fetch(`${baseUrl}/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...credential.headers },
        body: JSON.stringify({ url: receiver.url, eventTypes: ['*'], description: 'chaos receiver' }),
      });
      const body = (await res.json()) as { id?: string; secret?: string };
      if (res.status !== 201 || !body.id || !body.secret) {
        throw new Error(`POST /webhooks answered ${res.status}: ${JSON.stringify(body)}`);
      }
      subscriptionId = body.id;
      receiver.secret = body.secret;
      await Promise.all([startEdge('relay'), startEdge('webhooks'), ...(brokerCarrier ? [startEdge('carrier')] : [])]);
      log(`relay, webhook dispatcher${brokerCarrier ? ', carrier (CARRIER=broker)' : ''} started`);
    }
    await startWorker();
    log(`worker started; starting ${n} sagas`);

    // Start every saga through the API, at most 25 requests at a time, each with an Idempotency-Key so that a
    // retry after a 503 (a server restarting) cannot start a second saga.
    let next = 0;
    const startStatuses: number[] = [];
    const starting = startProgress({ label: 'chaos: sagas started', total: n });
    const launching = inLanes(
      Math.min(25, n),
      () => next < orders.length,
      async () => {
        const order = orders[next++]!;
        startStatuses.push(await post('/orders', order, { 'Idempotency-Key': `start-${order.orderId}` }));
        starting.update(startStatuses.length);
      },
    ).finally(() => starting.stop());

    // Kills and restarts at random moments while the sagas run.
    const inProgressAtFaults: number[] = [];
    let workerKills = 0;
    let serverRestarts = 0;
    let brokerRestarts = 0;
    let carrierKills = 0;
    const faults: ('kill' | 'restart' | 'broker' | 'carrier')[] = [
      ...Array<'kill'>(options.kills).fill('kill'),
      ...Array<'restart'>(options.servers?.length ? (options.serverRestarts ?? 0) : 0).fill('restart'),
      ...Array<'broker'>(edge?.broker ? (edge.brokerRestarts ?? 0) : 0).fill('broker'),
      ...Array<'carrier'>(brokerCarrier ? (edge?.carrierKills ?? 0) : 0).fill('carrier'),
    ].sort(() => rnd() - 0.5);
    for (const [i, fault] of faults.entries()) {
      // Spread over the run: the i-th fault once a share of the sagas has started, then a random moment later.
      while (startStatuses.length < (n * (i + 1)) / (faults.length + 1)) await sleep(100);
      await sleep(500 + rnd() * 2_000);
      inProgressAtFaults.push(await inProgress().catch(() => -1));
      if (fault === 'kill') {
        killing = true;
        const victim = worker!;
        await victim.kill9();
        workerKills++;
        log(`worker killed (SIGKILL) with ${inProgressAtFaults.at(-1)} sagas in progress`);
        await sleep(rnd() * 1_000);
        await startWorker();
        killing = false;
      } else if (fault === 'carrier') {
        carrierKilling = true;
        await edgeProcs.carrier!.kill9();
        carrierKills++;
        log(`carrier process killed (SIGKILL) with ${inProgressAtFaults.at(-1)} sagas in progress`);
        await sleep(rnd() * 2_000);
        await startEdge('carrier');
        carrierKilling = false;
      } else if (fault === 'broker') {
        log(`restarting RabbitMQ with ${inProgressAtFaults.at(-1)} sagas in progress`);
        await edge!.broker!.restart(options.downtimeMs ?? 3_000);
        brokerRestarts++;
      } else {
        const target = options.servers![serverRestarts % options.servers!.length]!;
        log(`restarting ${target.name} with ${inProgressAtFaults.at(-1)} sagas in progress`);
        await target.restart(options.downtimeMs ?? 3_000);
        serverRestarts++;
      }
    }
    await launching;
    const started = startStatuses.filter((s) => s === 202).length;
    log(`${started} sagas started (${startStatuses.length - started} refused); waiting for them to settle`);

    // Visibility (the count) is eventually consistent: the sagas' own states decide, read once the count says 0.
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    const states: (OrderState | null)[] = new Array<OrderState | null>(orders.length).fill(null);
    const settled = (s: OrderState | null) =>
      s !== null && s.status !== SagaStatus.RUNNING && s.status !== SagaStatus.COMPENSATING;
    const settling = startProgress({ label: 'chaos: sagas settled', total: started });
    for (;;) {
      const open = await inProgress().catch(() => -1);
      if (open >= 0) settling.update(Math.max(0, started - open));
      if (open === 0 || Date.now() > deadline) {
        let cursor = 0;
        await inLanes(
          10,
          () => cursor < orders.length,
          async () => {
            const i = cursor++;
            if (settled(states[i] ?? null)) return;
            const handle = temporal.workflow.getHandle(orderWorkflowId(orders[i]!.orderId));
            states[i] = (await handle.query(getStateQuery).catch(() => null)) as OrderState | null;
          },
        );
        if (states.every(settled) || Date.now() > deadline) break;
      }
      await sleep(1_000);
    }
    settling.stop();
    const outcomes: SagaOutcome[] = orders.map((o, i) => ({
      orderId: o.orderId,
      customerId: o.customerId,
      items: o.items,
      deliveryDate: o.deliveryDate,
      status: states[i]?.status ?? null,
      totalCents: states[i]?.total == null ? null : Math.round(states[i].total * 100),
    }));
    const invariants = await checkInvariants(db, outcomes, baseline);
    let edgeReport: EdgeReport | undefined;
    if (edge && recorder && receiver) {
      // Drained: the outbox empty, the recorder holding every stored event, a delivery per stored event for the
      // subscription and none pending (delivered, or failed past its retries).
      const draining = Date.now() + 5 * 60_000;
      const hooks = webhookCollections(db);
      for (;;) {
        const stored = await db.collection('domainEvents').countDocuments({});
        const [markers, pending, deliveries] = await Promise.all([
          countOutboxMarkers(db),
          hooks.pending.countDocuments({}),
          hooks.deliveries.countDocuments({ subscriptionId }),
        ]).catch(() => [-1, -1, -1]);
        if (
          (markers === 0 && pending === 0 && deliveries === stored && recorder.deliveries.size >= stored) ||
          Date.now() > draining
        )
          break;
        await sleep(1_000);
      }
      edgeReport = await checkEdge(
        db,
        outcomes.map((o) => ({ orderId: o.orderId, workflowId: orderWorkflowId(o.orderId), status: o.status })),
        recorder,
        receiver,
        subscriptionId,
      );
      invariants.checks.push(...edgeReport.checks);
      invariants.passed = invariants.checks.filter((c) => c.ok).length;
      invariants.failed = invariants.checks.length - invariants.passed;
    }
    const count = (status: SagaStatus) => states.filter((s) => s?.status === status).length;
    return {
      started,
      completed: count(SagaStatus.COMPLETED),
      compensated: count(SagaStatus.COMPENSATED),
      failed: count(SagaStatus.FAILED),
      stillRunning: states.filter(
        (s) => s === null || s.status === SagaStatus.RUNNING || s.status === SagaStatus.COMPENSATING,
      ).length,
      invariants,
      workerKills,
      workerCrashes,
      serverRestarts,
      brokerRestarts,
      carrierKills,
      edge: edgeReport,
      inProgressAtFaults,
      retriedSteps: states.flatMap((s) => s?.steps ?? []).filter((x) => x.attempts > 1 || x.compensationAttempts > 1)
        .length,
      apiUnavailable,
      durationMs: Date.now() - began,
      states,
      outcomes,
      baseline,
    };
  } finally {
    console.warn = warn;
    stopping = true;
    await worker?.stop();
    for (const kind of ['carrier', 'webhooks', 'relay'] as const) await edgeProcs[kind]?.stop();
    await recorder?.stop();
    await receiver?.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await connection.close();
    if (options.dropDatabase) await db.dropDatabase().catch(() => undefined);
    await mongo.close();
  }
}

/** The result as the table `npm run chaos` prints. */
export function chaosTable(r: ChaosResult): string {
  const rows: [string, string | number][] = [
    ['sagas started', r.started],
    ['completed', r.completed],
    ['compensated', r.compensated],
    ['failed (waiting for an operator)', r.failed],
    ['still running', r.stillRunning],
    ['invariant checks passed', `${r.invariants.passed}/${r.invariants.checks.length}`],
    ['effects lost', r.invariants.effectsLost],
    ['effects duplicated', r.invariants.effectsDuplicated],
    ['worker kills (SIGKILL)', r.workerKills],
    ['worker crashes (restarted)', r.workerCrashes],
    ['server restarts', r.serverRestarts],
    ...(r.edge
      ? ([
          ['broker restarts (RabbitMQ)', r.brokerRestarts],
          ['carrier kills (SIGKILL)', r.carrierKills],
          ['events stored', r.edge.eventsStored],
          ['events published (distinct message ids)', r.edge.eventsPublished],
          ['events redelivered (same message id again)', r.edge.publishDuplicates],
          ['sagas with events out of order', r.edge.outOfOrder],
          ['webhooks delivered (distinct event ids)', r.edge.webhooksDelivered],
          ['webhooks recorded as failed', r.edge.webhooksFailed],
          ['webhooks received twice (deduped by event id)', r.edge.webhookDuplicates],
          ['webhook requests answered 500 (retried)', r.edge.webhookRefusals],
        ] as [string, number][])
      : []),
    ['sagas in progress at each kill/restart', r.inProgressAtFaults.join(', ') || '-'],
    ['steps retried (attempts > 1)', r.retriedSteps],
    ['API 503s while a server restarted (retried)', r.apiUnavailable],
    ['duration', `${(r.durationMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const valueWidth = Math.max(10, ...rows.map(([, v]) => String(v).length));
  const lines = rows.map(([k, v]) => `| ${k.padEnd(width)} | ${String(v).padStart(valueWidth)} |`);
  const rule = `|${'-'.repeat(width + 2)}|${'-'.repeat(valueWidth + 2)}|`;
  const failures = r.invariants.checks.filter((c) => !c.ok).map((c) => `  FAILED: ${c.name}: ${c.detail}`);
  return [rule, ...lines, rule, ...failures].join('\n');
}

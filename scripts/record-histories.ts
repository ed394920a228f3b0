/**
 * `npm run record-histories [-- [--overwrite] [--list] [scenario...]]`: runs representative order sagas against a
 * throwaway Temporal dev server and FerretDB it starts itself, and writes each saga's event history as JSON to
 * `test/histories/<scenario>.json`, listed with its real workflow id in `test/histories/index.json`.
 * `test/replay/replay.test.ts` replays every one of them against the current workflow code.
 *
 * - No scenario names: every scenario below. With names: only those (e.g. the one a `patched()` change adds).
 * - A history already on disk is kept unless `--overwrite` is given: the recorded files are the "before" side of
 *   every workflow change, and re-recording them from new code would hide exactly the runs a change must still
 *   replay. Record a new scenario instead (see `docs/versioning.md`).
 * - `--list` prints the scenarios and exits.
 *
 * To add a scenario, add an entry to `scenarios`: arrange data through the API, register fault rules for its
 * workflow id if it needs them, start the saga, drive it (signals, cancel), and return its handle once it is closed
 * or waiting as it should. The recorder checks the final saga status it declares.
 *
 * Faults (a step held mid-flight, a compensation failing before it succeeds) are injected by the tests' kit,
 * an activity interceptor the recorder gives its worker (test/support/saga-hooks.ts), never in product code.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { connectMongo } from '../store/db';
import { createApp } from '../api/app';
import { getStateQuery, retryCompensationSignal } from '../common/definitions';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../common/order';
import { SagaStatus } from '../common/saga-state';
import { Gate, SagaHooks } from '../test/support/saga-hooks';
import { createSagaWorker } from '../workers/create-worker';
import { transportAndLoyaltyScenarios } from './record-histories-transport';
import { freePort, repoRoot, startFerretDb, startTemporalDevServer, stopAll } from './lib/servers';

const log = (message: string) => process.stderr.write(`record-histories: ${message}\n`);

export const historiesDir = path.join(repoRoot, 'test', 'histories');
export const indexFile = path.join(historiesDir, 'index.json');
const servedCountries = ['US', 'IE', 'DE', 'FR', 'GB'];
const taskQueue = 'record-histories';
const identity = 'record-histories';

/** One entry of test/histories/index.json. */
export interface HistoryIndexEntry {
  /** File name inside test/histories/. */
  file: string;
  /** The real workflow id: the replayer must be given it. */
  workflowId: string;
  workflowType: string;
  description: string;
  /** Saga status at the end of the recording. */
  sagaStatus: string;
}

// -----------------------------------------------------------------------------------------------------------------
// What a scenario gets to work with
// -----------------------------------------------------------------------------------------------------------------

export interface Seeded {
  customerId: string;
  sku: string;
}

export interface RecordContext {
  client: Client;
  /** Rules that hold or break the sagas they name (test/support/saga-hooks.ts). */
  hooks: SagaHooks;
  /** JSON call to the real API. Throws on an unexpected status. */
  api(method: string, urlPath: string, body?: unknown, expectStatus?: number): Promise<unknown>;
  /** A customer and a product named after the scenario (`id` distinguishes several per scenario). */
  seed(id: string, options?: { creditLimit?: number; price?: number; stock?: number }): Promise<Seeded>;
  /** An order body for `POST /orders`: 2 of the seeded product to Ireland, order id `history-<scenario>`. */
  order(s: Seeded, overrides?: OrderOverrides): OrderSagaInput;
  /** Starts the saga through the API and returns its handle. */
  start(input: OrderSagaInput): Promise<WorkflowHandle>;
  /** Polls the getState query until the saga reaches one of `statuses`. */
  waitForStatus(handle: WorkflowHandle, statuses: SagaStatus[]): Promise<OrderState>;
  /** A delivery date no other scenario uses (vehicle capacity is per date). */
  deliveryDate: string;
}

interface OrderOverrides {
  orderId?: string;
  quantity?: number;
  token?: string;
  country?: string;
}

export interface Scenario {
  description: string;
  /** The saga status the recorder expects at the end. */
  sagaStatus: SagaStatus;
  /** Runs the saga; returns its handle once it is closed (or, for a saga that waits, in the state to record). */
  run(ctx: RecordContext, name: string): Promise<WorkflowHandle>;
  /** Workflow type recorded in the index; default the order saga. */
  workflowType?: string;
  /** Reads the status to check against `sagaStatus`, for a workflow without the getState query. */
  status?(handle: WorkflowHandle): Promise<string>;
}

/** Runs an order whose outcome is decided by its data alone, and waits until the saga is closed. */
async function runToEnd(ctx: RecordContext, input: OrderSagaInput): Promise<WorkflowHandle> {
  const handle = await ctx.start(input);
  await handle.result().catch(() => undefined); // a cancelled saga ends in an error: its history is what we want
  return handle;
}

/**
 * A `retryCompensation` sent while nothing has failed yet: processPayment is held by a gate, the signal is sent and
 * handled by a workflow task, then the payment is declined and releaseInventory fails non-retryably once. Returns
 * once the saga has either retried that compensation at once (COMPENSATED: the stray signal was remembered) or gone
 * FAILED to wait for an operator (the stray signal was ignored), whichever the workflow code does.
 */
async function strayRetrySignal(
  ctx: RecordContext,
  name: string,
): Promise<{ handle: WorkflowHandle; waited: boolean }> {
  const gate = new Gate();
  const input = ctx.order(await ctx.seed('a'), { token: 'tok_declined' });
  const workflowId = orderWorkflowId(input.orderId);
  ctx.hooks.add({ activity: 'processPayment', workflowId, gate });
  ctx.hooks.add({ activity: 'releaseInventory', workflowId, failNonRetryableCalls: 1 });
  const handle = await ctx.start(input);
  await withTimeout(gate.entered, 30_000, `${name}: processPayment never started`);
  await handle.signal(retryCompensationSignal);
  // Let the saga handle the signal while it is RUNNING, in a workflow task of its own, before the payment fails.
  for (let handled = false; !handled;) {
    const events = (await handle.fetchHistory()).events ?? [];
    const signalled = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
    handled = signalled >= 0 && events.slice(signalled).some((e) => e.workflowTaskCompletedEventAttributes);
    if (!handled) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  gate.release();
  const state = await ctx.waitForStatus(handle, [SagaStatus.FAILED, SagaStatus.COMPENSATED]);
  return { handle, waited: state.status === SagaStatus.FAILED };
}

// -----------------------------------------------------------------------------------------------------------------
// The scenarios. Names become file names: keep them stable, add new ones rather than changing old ones.
// -----------------------------------------------------------------------------------------------------------------

const scenarios: Record<string, Scenario> = {
  completed: {
    description: 'Every step succeeds: priced, credit, stock, payment, shipment, vehicle.',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { quantity: 3 })),
  },
  'failed-at-reserve-credit': {
    description: 'reserveCredit fails with InsufficientCredit; nothing before it to undo but the credit hold.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a', { creditLimit: 5, price: 10 }))),
  },
  'failed-at-reserve-inventory': {
    description: 'reserveInventory fails with OutOfStock; stock and credit are released in reverse order.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a', { stock: 1 }), { quantity: 2 })),
  },
  'failed-at-process-payment': {
    description: 'processPayment fails with PaymentDeclined (tok_declined); payment, stock, credit undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { token: 'tok_declined' })),
  },
  'failed-at-create-shipment': {
    description: 'createShipment fails with ShipmentRejected (country AQ is not served); four steps undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { country: 'AQ' })),
  },
  'failed-at-reserve-vehicle': {
    description: 'reserveVehicle fails with NoVehicleAvailable (a first order took the only van that day).',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const first = await runToEnd(ctx, ctx.order(await ctx.seed('first'), { orderId: `history-${name}-first` }));
      const firstState = (await first.query(getStateQuery)) as OrderState;
      if (firstState.status !== SagaStatus.COMPLETED) throw new Error(`the first order ended ${firstState.status}`);
      return runToEnd(ctx, ctx.order(await ctx.seed('a')));
    },
  },
  cancelled: {
    description:
      'Cancelled while processPayment is running (held by a gate); credit and stock released, the late ' +
      'payment refunded by its tombstone, and the run closes as cancelled.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const gate = new Gate();
      const input = ctx.order(await ctx.seed('a'));
      ctx.hooks.add({ activity: 'processPayment', workflowId: orderWorkflowId(input.orderId), gate });
      const handle = await ctx.start(input);
      await withTimeout(gate.entered, 30_000, `${name}: processPayment never started`);
      await handle.cancel();
      await handle.result().catch(() => undefined);
      gate.release(); // the held attempt now runs after its compensation: the tombstone keeps it from charging
      return handle;
    },
  },
  'compensation-retried': {
    description:
      'processPayment is declined; releaseCredit fails twice with a transient error and succeeds on its third ' +
      'attempt under the compensation retry policy.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => {
      const input = ctx.order(await ctx.seed('a'), { token: 'tok_declined' });
      ctx.hooks.add({ activity: 'releaseCredit', workflowId: orderWorkflowId(input.orderId), failAttempts: 2 });
      return runToEnd(ctx, input);
    },
  },
  'compensation-failed-then-operator-retry': {
    description:
      'processPayment is declined; releaseInventory fails non-retryably, the saga goes FAILED and waits; an ' +
      'operator sends retryCompensation and the compensations finish.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => {
      const input = ctx.order(await ctx.seed('a'), { token: 'tok_declined' });
      ctx.hooks.add({
        activity: 'releaseInventory',
        workflowId: orderWorkflowId(input.orderId),
        failNonRetryableCalls: 1,
      });
      const handle = await ctx.start(input);
      await ctx.waitForStatus(handle, [SagaStatus.FAILED]);
      await handle.signal(retryCompensationSignal);
      await handle.result();
      return handle;
    },
  },
  'stray-retry-signal-remembered': {
    description:
      "Before patched('retry-compensation-only-when-failed'): retryCompensation is sent while processPayment runs " +
      '(nothing failed yet) and remembered; the payment is declined, releaseInventory fails non-retryably and is ' +
      'retried at once, with no operator.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const { handle, waited } = await strayRetrySignal(ctx, name);
      if (waited) throw new Error(`${name}: the saga ignored the stray signal; record this with the code before it`);
      await handle.result();
      return handle;
    },
  },
  'stray-retry-signal-ignored': {
    description:
      "After patched('retry-compensation-only-when-failed'): retryCompensation is sent while processPayment runs " +
      '(nothing failed yet) and ignored; the payment is declined, releaseInventory fails non-retryably, the saga ' +
      "goes FAILED and waits; only the operator's later retryCompensation retries it, and the compensations finish.",
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const { handle, waited } = await strayRetrySignal(ctx, name);
      if (!waited) throw new Error(`${name}: the stray signal was remembered; record this with the patched code`);
      await handle.signal(retryCompensationSignal);
      await handle.result();
      return handle;
    },
  },
  // After patched('local-participant-calls'): the steps run as local activities (MarkerRecorded events), except
  // processPayment; the compensations stay regular activities.
  'completed-local-activities': {
    description:
      "After patched('local-participant-calls'): every step succeeds, all but processPayment as local activities; " +
      'then the loyalty signal.',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'))),
  },
  'payment-declined-local-activities': {
    description:
      "After patched('local-participant-calls'): price, credit, stock as local activities, then processPayment " +
      '(regular) fails with PaymentDeclined; payment, stock, credit undone by regular activities.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { token: 'tok_declined' })),
  },
  // The transport order and customer loyalty sagas (scripts/record-histories-transport.ts).
  ...transportAndLoyaltyScenarios,
};

// -----------------------------------------------------------------------------------------------------------------
// Machinery
// -----------------------------------------------------------------------------------------------------------------

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function readIndex(): Record<string, HistoryIndexEntry> {
  if (!fs.existsSync(indexFile)) return {};
  return JSON.parse(fs.readFileSync(indexFile, 'utf8')) as Record<string, HistoryIndexEntry>;
}

function writeIndex(index: Record<string, HistoryIndexEntry>): void {
  const sorted = Object.fromEntries(Object.entries(index).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(indexFile, `${JSON.stringify(sorted, null, 2)}\n`);
}

function parseArgs(argv: string[]): { names: string[]; overwrite: boolean; list: boolean } {
  const names: string[] = [];
  let overwrite = false;
  let list = false;
  for (const arg of argv) {
    if (arg === '--overwrite') overwrite = true;
    else if (arg === '--list') list = true;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg} (options: --overwrite, --list)`);
    else names.push(arg);
  }
  const unknown = names.filter((n) => !(n in scenarios));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);
  }
  return { names: names.length > 0 ? names : Object.keys(scenarios), overwrite, list };
}

async function record(names: string[]): Promise<void> {
  const runDir = path.join(repoRoot, '.data', `record-histories-${process.pid}`);
  const logDir = path.join(repoRoot, '.data', 'logs');
  try {
    const [temporal, ferret] = await Promise.all([
      (async () =>
        startTemporalDevServer({
          port: await freePort(),
          uiPort: await freePort(),
          logFile: path.join(logDir, 'record-histories-temporal.log'),
          truncateLog: true,
        }))(),
      (async () =>
        startFerretDb({
          port: await freePort(),
          dataDir: path.join(runDir, 'ferretdb'),
          logFile: path.join(logDir, 'record-histories-ferretdb.log'),
          truncateLog: true,
        }))(),
    ]);
    log(`Temporal dev server at ${temporal.address}, FerretDB at ${ferret.uri}`);

    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const { client: mongo, db } = await connectMongo(ferret.uri, 'record_histories');
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, identity });
    const hooks = new SagaHooks();
    const worker = await createSagaWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      db,
      servedCountries,
      temporal: client,
      shutdownGraceSeconds: 5,
      activityInterceptors: [hooks.interceptor],
      overrides: { identity },
    });
    const running = worker.run();
    const app = createApp({ temporal: client, db, taskQueue, bodyLimit: 100_000 });
    const server: Server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const api = async (method: string, urlPath: string, body?: unknown, expectStatus?: number) => {
      const res = await fetch(`${baseUrl}${urlPath}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (expectStatus !== undefined && res.status !== expectStatus) {
        throw new Error(`${method} ${urlPath} answered ${res.status}, expected ${expectStatus}: ${text}`);
      }
      return text ? (JSON.parse(text) as unknown) : undefined;
    };
    await api('POST', '/vehicles', { id: 'van-1', name: 'Van', capacityPerDay: 1 }, 201);

    const results: { name: string; error?: unknown }[] = [];
    try {
      await Promise.all(
        names.map(async (name, i) => {
          const ctx: RecordContext = {
            client,
            hooks,
            api,
            deliveryDate: `2027-03-${String(i + 1).padStart(2, '0')}`,
            async seed(id, { creditLimit = 1000, price = 10, stock = 100 } = {}) {
              const customerId = `cust-${name}-${id}`;
              const sku = `sku-${name}-${id}`;
              await api('POST', '/customers', { id: customerId, name: `Customer ${id}`, creditLimit }, 201);
              await api('POST', '/products', { sku, name: `Product ${id}`, price, stock }, 201);
              return { customerId, sku };
            },
            order(s, { orderId = `history-${name}`, quantity = 2, token = 'tok_visa', country = 'IE' } = {}) {
              return {
                orderId,
                customerId: s.customerId,
                items: [{ sku: s.sku, quantity }],
                payment: { token },
                shippingAddress: { line1: '1 Main Street', city: 'Dublin', postalCode: 'D01 F5P2', country },
                deliveryDate: ctx.deliveryDate,
              };
            },
            async start(input) {
              await api('POST', '/orders', input, 202);
              return client.workflow.getHandle(orderWorkflowId(input.orderId));
            },
            async waitForStatus(handle, statuses) {
              const deadline = Date.now() + 60_000;
              for (;;) {
                const state = (await handle.query(getStateQuery)) as OrderState;
                if (statuses.includes(state.status)) return state;
                if (Date.now() > deadline) throw new Error(`${handle.workflowId} still ${state.status}`);
                await new Promise((resolve) => setTimeout(resolve, 200));
              }
            },
          };
          try {
            const scenario = scenarios[name]!;
            const handle = await withTimeout(scenario.run(ctx, name), 120_000, `${name}: timed out`);
            const state = scenario.status
              ? { status: await scenario.status(handle) }
              : ((await handle.query(getStateQuery)) as OrderState);
            if (state.status !== scenario.sagaStatus) {
              throw new Error(`${name}: saga ended ${state.status}, expected ${scenario.sagaStatus}`);
            }
            const history = await handle.fetchHistory();
            const file = `${name}.json`;
            fs.mkdirSync(historiesDir, { recursive: true });
            // Pretty-printed so that a re-recording shows up in review as a readable diff.
            const json = JSON.stringify(JSON.parse(historyToJSON(history)), null, 2);
            fs.writeFileSync(path.join(historiesDir, file), `${json}\n`);
            const index = readIndex();
            index[name] = {
              file,
              workflowId: handle.workflowId,
              workflowType: scenario.workflowType ?? ORDER_SAGA,
              description: scenario.description,
              sagaStatus: state.status,
            };
            writeIndex(index);
            log(`${name}: ${state.status}, ${history.events?.length ?? 0} events -> test/histories/${file}`);
            results.push({ name });
          } catch (error) {
            log(`${name}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
            results.push({ name, error });
          }
        }),
      );
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await mongo.close();
    }
    const failed = results.filter((r) => r.error !== undefined);
    if (failed.length > 0) throw new Error(`could not record: ${failed.map((r) => r.name).join(', ')}`);
  } finally {
    await stopAll();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { names, overwrite, list } = parseArgs(process.argv.slice(2));
  if (list) {
    for (const [name, scenario] of Object.entries(scenarios)) console.log(`${name}\t${scenario.description}`);
    return;
  }
  const todo = names.filter((name) => {
    if (overwrite || !fs.existsSync(path.join(historiesDir, `${name}.json`))) return true;
    log(`${name}: test/histories/${name}.json exists, kept (--overwrite to re-record it)`);
    return false;
  });
  if (todo.length === 0) {
    log('nothing to record');
    return;
  }
  await record(todo);
}

if (require.main === module) {
  main().catch((err) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}

/**
 * The machinery of `npm run record-histories` (scripts/record-histories.ts): what a scenario gets to work with,
 * and the runner that starts the servers, a worker and the API, runs the scenarios side by side and writes each
 * saga's history with its entry in the index. The scenarios live in their own modules.
 *
 * Faults (a step held mid-flight, a compensation failing before it succeeds) are injected by the tests' kit,
 * an activity interceptor the recorder gives its worker (test/support/saga-hooks.ts), never in product code.
 */
import { startProgress } from './progress';
import fs from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { connectMongo } from '../../store/db';
import { createApp } from '../../api/app';
import { localCredential } from './credential';
import { getStateQuery } from '../../common/definitions';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import type { SagaStatus } from '../../common/saga-state';
import { SagaHooks } from '../../test/support/saga-hooks';
import { createSagaWorker } from '../../workers/create-worker';
import { sagaDataConverter } from '../../codec/data-converter';
import { loadConfig, type PayloadKeyRing } from '../../common/config';
import { freePort, repoRoot, startFerretDb, startRabbitMq, startTemporalDevServer, stopAll } from './servers';
import pino from 'pino';
import type { Db } from 'mongodb';
import { connectBroker, type Broker } from '../../broker/connection';
import { serveCarrierCommands, type QueueConsumer } from '../../broker/carrier';
import { carrierCommandHandler } from '../../activities/carrier/apply-command';
import { createShipmentActivities } from '../../activities/participants/shipments';
import { collections } from '../../store/db';
import { startBrokerCarrier, type BrokerCarrier } from '../../workers/carrier-replies';
import { waitForSagaStatus, withTimeout } from './wait';

const log = (message: string) => process.stderr.write(`record-histories: ${message}\n`);

/** Where the histories go by default, and their index (read by test/replay/replay.test.ts). */
export const historiesDir = path.join(repoRoot, 'test', 'histories');
const servedCountries = ['US', 'IE', 'DE', 'FR', 'GB'];
/** The recorder's worker polls this task queue (a scenario that starts a workflow itself uses it too). */
export const recorderTaskQueue = 'record-histories';
/** The task queue of the recorder's second worker, the one with the broker carrier (scenarios with `carrier`). */
export const recorderBrokerTaskQueue = 'record-histories-broker';
const recorderCommandQueue = 'record-histories.carrier.commands';
const identity = 'record-histories';

/** The test-only key ring of the recorded histories (test/replay/payload-keys.test-only.json). */
export const historiesKeyFile = path.join(repoRoot, 'test', 'replay', 'payload-keys.test-only.json');

/** The key ring recorded histories are encrypted with (those recorded before encryption are plain text). */
export function historiesKeyRing(): PayloadKeyRing {
  const { PAYLOAD_KEYS, PAYLOAD_KEY_CURRENT } = JSON.parse(fs.readFileSync(historiesKeyFile, 'utf8')) as Record<
    string,
    string
  >;
  return loadConfig({ PAYLOAD_KEYS, PAYLOAD_KEY_CURRENT }).payloadKeyRing!;
}

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

export interface Seeded {
  customerId: string;
  sku: string;
}

export interface OrderOverrides {
  orderId?: string;
  quantity?: number;
  token?: string;
  country?: string;
}

/** What a scenario gets to work with. */
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

export interface Scenario {
  description: string;
  /** The saga status the recorder expects at the end. */
  sagaStatus: SagaStatus;
  /** Runs the saga; returns its handle once it is closed (or, for a saga that waits, in the state to record). */
  run(ctx: RecordContext, name: string): Promise<WorkflowHandle>;
  /** How long the scenario may take; default 2 min. */
  timeoutMs?: number;
  /** Workflow type recorded in the index; default the order saga. */
  workflowType?: string;
  /** Reads the status to check against `sagaStatus`, for a workflow without the getState query. */
  status?(handle: WorkflowHandle): Promise<string>;
  /**
   * `broker`: the saga runs on the recorder's worker with the broker carrier (CARRIER=broker), which reaches a
   * carrier served in the recorder's process by the carrier's own code over a RabbitMQ the recorder starts.
   */
  carrier?: 'broker';
}

/** RabbitMQ, the carrier's command consumer and the broker-carrier worker's link, for scenarios with `carrier`. */
async function startRecorderCarrier(
  runDir: string,
  logDir: string,
  db: Db,
  client: Client,
): Promise<{ carrier: BrokerCarrier; close(): Promise<void> }> {
  const rabbit = await startRabbitMq({
    port: await freePort(),
    distPort: await freePort(),
    nodeName: `record-histories-${process.pid}`,
    dataDir: path.join(runDir, 'rabbitmq'),
    logFile: path.join(logDir, 'record-histories-rabbitmq.log'),
    truncateLog: true,
  });
  const logger = pino({ level: 'silent' });
  const broker: Broker = await connectBroker({ url: rabbit.url, logger, connectionName: 'record-histories' });
  const carrier = await startBrokerCarrier({
    broker,
    client,
    taskQueue: recorderBrokerTaskQueue,
    commandQueue: recorderCommandQueue,
    replyTimeoutSeconds: 30,
    attempts: 3,
    logger,
  });
  const apply = carrierCommandHandler(createShipmentActivities(collections(db), { servedCountries }));
  const commands: QueueConsumer = await serveCarrierCommands(broker, {
    queue: recorderCommandQueue,
    logger,
    apply: (type, body) => apply(type, body),
  });
  log(`RabbitMQ at ${rabbit.url.replace(/\/\/[^@]*@/, '//')}, the carrier served in this process`);
  return {
    carrier,
    async close() {
      await commands.stop();
      await carrier.stop();
      await broker.close();
    },
  };
}

/** Runs an order whose outcome is decided by its data alone, and waits until the saga is closed. */
export async function runToEnd(ctx: RecordContext, input: OrderSagaInput): Promise<WorkflowHandle> {
  const handle = await ctx.start(input);
  await handle.result().catch(() => undefined); // a cancelled saga ends in an error: its history is what we want
  return handle;
}

function readIndex(indexFile: string): Record<string, HistoryIndexEntry> {
  if (!fs.existsSync(indexFile)) return {};
  return JSON.parse(fs.readFileSync(indexFile, 'utf8')) as Record<string, HistoryIndexEntry>;
}

function writeIndex(indexFile: string, index: Record<string, HistoryIndexEntry>): void {
  const sorted = Object.fromEntries(Object.entries(index).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(indexFile, `${JSON.stringify(sorted, null, 2)}\n`);
}

/** Records `names` of `scenarios` side by side into `outDir` (files `<name>.json`, entries in `index.json`). */
export async function recordHistories(
  scenarios: Record<string, Scenario>,
  names: string[],
  outDir = historiesDir,
): Promise<void> {
  const runDir = path.join(repoRoot, '.data', `record-histories-${process.pid}`);
  const logDir = path.join(repoRoot, '.data', 'logs');
  const indexFile = path.join(outDir, 'index.json');
  try {
    const [temporal, ferret] = await Promise.all([
      startTemporalDevServer({
        port: await freePort(),
        uiPort: await freePort(),
        logFile: path.join(logDir, 'record-histories-temporal.log'),
        truncateLog: true,
      }),
      startFerretDb({
        port: await freePort(),
        dataDir: path.join(runDir, 'ferretdb'),
        logFile: path.join(logDir, 'record-histories-ferretdb.log'),
        truncateLog: true,
      }),
    ]);
    log(`Temporal dev server at ${temporal.address}, FerretDB at ${ferret.uri}`);

    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const { client: mongo, db } = await connectMongo(ferret.uri, 'record_histories');
    // New recordings are encrypted with the test-only key the replay test decrypts them with.
    const dataConverter = sagaDataConverter(historiesKeyRing());
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, identity, dataConverter });
    const hooks = new SagaHooks();
    const worker = await createSagaWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue: recorderTaskQueue,
      db,
      servedCountries,
      temporal: client,
      dataConverter,
      shutdownGraceSeconds: 5,
      activityInterceptors: [hooks.interceptor],
      overrides: { identity },
    });
    const running = worker.run();
    // Scenarios with the broker carrier run on a second worker (and API) of their own task queue.
    const brokerCarrier = names.some((name) => scenarios[name]?.carrier === 'broker')
      ? await startRecorderCarrier(runDir, logDir, db, client)
      : undefined;
    const brokerWorker = brokerCarrier
      ? await createSagaWorker({
          connection: nativeConnection,
          namespace: 'default',
          taskQueue: recorderBrokerTaskQueue,
          db,
          servedCountries,
          temporal: client,
          dataConverter,
          shutdownGraceSeconds: 5,
          activityInterceptors: [hooks.interceptor],
          carrier: brokerCarrier.carrier.link,
          overrides: { identity },
        })
      : undefined;
    const brokerRunning = brokerWorker?.run();
    const credential = localCredential('record-histories');
    const app = createApp({
      temporal: client,
      db,
      taskQueue: recorderTaskQueue,
      bodyLimit: 100_000,
      auth: credential.authenticator,
      rateLimit: 'off', // its own API, driven by the recorder alone
    });
    const server: Server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const brokerServer: Server | undefined = brokerWorker
      ? createApp({
          temporal: client,
          db,
          taskQueue: recorderBrokerTaskQueue,
          bodyLimit: 100_000,
          auth: credential.authenticator,
          rateLimit: 'off',
        }).listen(0, '127.0.0.1')
      : undefined;
    if (brokerServer) await new Promise<void>((resolve) => brokerServer.once('listening', () => resolve()));
    const brokerBaseUrl = brokerServer && `http://127.0.0.1:${(brokerServer.address() as AddressInfo).port}`;

    const callApi = async (
      base: string,
      method: string,
      urlPath: string,
      body?: unknown,
      expectStatus?: number,
    ): Promise<unknown> => {
      const res = await fetch(`${base}${urlPath}`, {
        method,
        headers:
          body === undefined ? credential.headers : { ...credential.headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (expectStatus !== undefined && res.status !== expectStatus) {
        throw new Error(`${method} ${urlPath} answered ${res.status}, expected ${expectStatus}: ${text}`);
      }
      return text ? (JSON.parse(text) as unknown) : undefined;
    };
    const api = (method: string, urlPath: string, body?: unknown, expectStatus?: number) =>
      callApi(baseUrl, method, urlPath, body, expectStatus);
    await api('POST', '/vehicles', { id: 'van-1', name: 'Van', capacityPerDay: 1 }, 201);

    const results: { name: string; error?: unknown }[] = [];

    const progress = startProgress({ label: 'record-histories: scenarios', total: names.length });
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
              const base = scenarios[name]?.carrier === 'broker' ? brokerBaseUrl! : baseUrl;
              await callApi(base, 'POST', '/orders', input, 202);
              return client.workflow.getHandle(orderWorkflowId(input.orderId));
            },
            waitForStatus: (handle, statuses) => waitForSagaStatus(handle, statuses),
          };
          try {
            const scenario = scenarios[name]!;
            const handle = await withTimeout(
              scenario.run(ctx, name),
              scenario.timeoutMs ?? 120_000,
              `${name}: timed out`,
            );
            const state = scenario.status
              ? { status: await scenario.status(handle) }
              : ((await handle.query(getStateQuery)) as OrderState);
            if (state.status !== scenario.sagaStatus) {
              throw new Error(`${name}: saga ended ${state.status}, expected ${scenario.sagaStatus}`);
            }
            const history = await handle.fetchHistory();
            const file = `${name}.json`;
            fs.mkdirSync(outDir, { recursive: true });
            // Pretty-printed so that a re-recording shows up in review as a readable diff.
            const json = JSON.stringify(JSON.parse(historyToJSON(history)), null, 2);
            fs.writeFileSync(path.join(outDir, file), `${json}\n`);
            const index = readIndex(indexFile);
            index[name] = {
              file,
              workflowId: handle.workflowId,
              workflowType: scenario.workflowType ?? ORDER_SAGA,
              description: scenario.description,
              sagaStatus: state.status,
            };
            writeIndex(indexFile, index);
            const where = outDir === historiesDir ? `test/histories/${file}` : path.join(outDir, file);
            log(`${name}: ${state.status}, ${history.events?.length ?? 0} events -> ${where}`);
            results.push({ name });
            progress.update(results.length);
          } catch (error) {
            log(`${name}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
            results.push({ name, error });
            progress.update(results.length);
          }
        }),
      );
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (brokerServer) {
        await new Promise<void>((resolve) => {
          brokerServer.close(() => resolve());
          brokerServer.closeAllConnections();
        });
      }
      worker.shutdown();
      brokerWorker?.shutdown();
      await running;
      await brokerRunning;
      await brokerCarrier?.close();
      await nativeConnection.close();
      await connection.close();
      await mongo.close();
    }
    progress.stop();
    const failed = results.filter((r) => r.error !== undefined);
    if (failed.length > 0) throw new Error(`could not record: ${failed.map((r) => r.name).join(', ')}`);
  } finally {
    await stopAll();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

/** The engines under test, each behind the same small interface the load generator drives. */
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import fs from 'node:fs';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../../common/config';
import { createSagaWorker } from '../../workers/create-worker';
import { dataConverterFromEnv, payloadKeyEnv } from '../../codec/data-converter';
import { sizingFromConfig } from '../../workers/sizing';
import { readShippedConfig } from '../../scripts/lib/shipped-config';
import { putSagaConfig, sagaConfigCollection } from '../../store/saga-config';
import { SagaType } from '../../common/domain-events';
import { generateApiKey, hashApiKey } from '../../store/api-keys';
import type { ManagedProcess } from '../../scripts/lib/processes';
import { waitFor } from '../../scripts/lib/wait';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { SERVED_COUNTRIES } from './workload';
import {
  answersOk,
  startNodeProcess,
  startPostgres,
  startRestate,
  startTemporal,
  type SqliteMode,
  type TemporalServerKind,
} from './servers';
import { freePort } from '../../scripts/lib/servers';
import { sagaResult } from '../../common/saga-result';

export interface Engine {
  name: string;
  /** The processes whose CPU and memory are reported, by role. */
  processes: Record<string, ManagedProcess>;
  /** Starts one saga and resolves with its final status (COMPLETED or COMPENSATED). */
  runSaga(input: OrderSagaInput): Promise<string>;
  /** Number of history events of a saga (Temporal engines only). */
  historyEvents?(orderId: string): Promise<number>;
  /** Engine-specific remark for the report. */
  note?(): string;
  /** Run after each mix's seed (which starts from an empty database): what the engine stores there, its config. */
  afterSeed?(): Promise<void>;
  stop(): Promise<void>;
}

export interface EngineContext {
  dir: string;
  mongoUri: string;
  mongoDb: string;
  /** The Temporal server of a Temporal engine (default: the dev server). */
  temporalServer?: TemporalServerKind;
  /** Called with the MongoDB client of an in-process worker before it connects (bench/profile.ts counts its commands). */
  onMongoClient?: (client: MongoClient) => void;
}

/** Engines that can run on either Temporal server (`ours-sqlite-default` is about the dev server's SQLite). */
export const runsOnEitherTemporalServer = (name: string) =>
  name in engines && !['restate', 'dbos', 'ours-sqlite-default'].includes(name);

const engineDir = (ctx: EngineContext, name: string) => path.join(ctx.dir, name);
const root = path.join(__dirname, '..', '..');

/** A saga's final status from its result: ours returns its state, plain Temporal's saga a status string. */
async function finalStatus(handle: WorkflowHandle): Promise<string> {
  const result = (await sagaResult(handle)) as OrderState | string;
  return typeof result === 'string' ? result : result.status;
}

/**
 * Starting a saga and reading its history, the same for every Temporal engine. `start` starts the saga and gives
 * its handle (default: the driver's client starts it); the wait for its result is the same whoever started it.
 */
function temporalSagaCalls(
  client: Client,
  taskQueue: string,
  workflowType: string,
  {
    eager = false,
    onStarted,
    start,
  }: {
    eager?: boolean;
    onStarted?: (eagerly: boolean) => void;
    start?: (input: OrderSagaInput) => Promise<WorkflowHandle>;
  } = {},
): Pick<Engine, 'runSaga' | 'historyEvents'> {
  return {
    async runSaga(input) {
      if (start) return finalStatus(await start(input));
      const handle = await client.workflow.start(workflowType, {
        taskQueue,
        workflowId: orderWorkflowId(input.orderId),
        args: [input],
        ...(eager ? { requestEagerStart: true } : {}),
      });
      onStarted?.(handle.eagerlyStarted);
      return finalStatus(handle);
    },
    async historyEvents(orderId) {
      const history = await client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
      return history.events?.length ?? 0;
    },
  };
}

/** What a Temporal engine runs: the worker process, and for ours its payload encryption and whether the API starts sagas. */
interface TemporalEngineOptions {
  /** SQLite settings of the dev server. Default `wal` (what `npm start` uses). */
  sqlite?: SqliteMode;
  /** The worker process: its entry point, the line it logs when ready, the workflow type it runs. */
  worker: { file: string; ready: string; workflowType: string };
  /**
   * Ours: our data converter in the worker, the API and the driver's client, payloads encrypted with the run's key
   * ring (`on`, as shipped) or stored in plain text (`off`, PAYLOAD_ENCRYPTION=off). Unset: plain Temporal, no codec.
   */
  encryption?: 'on' | 'off';
  /**
   * Sagas start through our API process (bootstrap/api-main.ts) by `POST /orders`, as users start them, with
   * authentication on (a bearer API key from API_KEYS) or off (API_AUTH=off, no header). Unset: the driver's
   * Temporal client starts them. Either way the driver waits for the result on its Temporal client.
   */
  api?: { auth: 'on' | 'off' };
}

/**
 * The API's bench settings: no rate limit or admission refusal within the bench's in-flight levels (at most 128
 * sagas in flight), so that what is measured is the cost of the checks, not their refusals.
 */
export const BENCH_API_SETTINGS = { API_RATE_LIMIT: '1000000', API_MAX_STARTING_SAGAS: '100000' } as const;

/** Our API process on a free port, on the engine's Temporal and database, with a writer key when auth is on. */
async function startApiProcess(
  dir: string,
  env: NodeJS.ProcessEnv,
  auth: 'on' | 'off',
): Promise<{ process: ManagedProcess; url: string; headers: Record<string, string> }> {
  const port = await freePort();
  const { key } = generateApiKey();
  const proc = await startNodeProcess(
    'api',
    path.join(root, 'bootstrap', 'api-main.ts'),
    dir,
    {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
      API_AUTH: auth,
      // the hash only, as a deployment gives it (`npm run api-key -- hash`)
      API_KEYS: auth === 'on' ? `bench:writer:${hashApiKey(key)}` : '',
      ...BENCH_API_SETTINGS,
    },
    'API listening on',
  );
  const url = `http://127.0.0.1:${port}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth === 'on') {
    headers.authorization = `Bearer ${key}`;
    // authentication is really on: a start without the credential is refused
    const r = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (r.status !== 401) throw new Error(`POST /orders without a credential answered ${r.status}, not 401`);
  }
  return { process: proc, url, headers };
}

async function temporalEngine(name: string, ctx: EngineContext, opts: TemporalEngineOptions): Promise<Engine> {
  const { sqlite = 'wal', worker, encryption, api } = opts;
  const dir = engineDir(ctx, name);
  const temporal = await startTemporal(dir, sqlite, { server: ctx.temporalServer ?? 'dev' });
  const taskQueue = `bench-${name}`;
  // ours runs as shipped, payloads encrypted (the key ring bench/run.ts made), or with PAYLOAD_ENCRYPTION=off;
  // plain Temporal has no codec
  const payloadEnv: NodeJS.ProcessEnv =
    encryption === 'on' ? payloadKeyEnv() : encryption === 'off' ? { PAYLOAD_ENCRYPTION: 'off' } : {};
  const env: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: temporal.address,
    MONGODB_URI: ctx.mongoUri,
    MONGODB_DB: ctx.mongoDb,
    TASK_QUEUE: taskQueue,
    SERVED_COUNTRIES: SERVED_COUNTRIES.join(','),
    ...payloadEnv,
  };
  const workerProc = await startNodeProcess('worker', worker.file, dir, env, worker.ready);
  const apiProc = api ? await startApiProcess(dir, env, api.auth) : undefined;
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({
    connection,
    ...(encryption ? { dataConverter: dataConverterFromEnv({ ...process.env, ...payloadEnv }) } : {}),
  });
  const startThroughApi = apiProc
    ? async (input: OrderSagaInput) => {
        const r = await fetch(`${apiProc.url}/orders`, {
          method: 'POST',
          headers: apiProc.headers,
          body: JSON.stringify(input),
        });
        if (r.status !== 202) throw new Error(`POST /orders ${r.status}: ${(await r.text()).slice(0, 200)}`);
        await r.arrayBuffer().catch(() => undefined);
        return client.workflow.getHandle(orderWorkflowId(input.orderId));
      }
    : undefined;
  return {
    name,
    processes: {
      ...temporal.processes,
      worker: workerProc,
      ...(apiProc ? { api: apiProc.process } : {}),
    },
    ...temporalSagaCalls(client, taskQueue, worker.workflowType, startThroughApi ? { start: startThroughApi } : {}),
    async stop() {
      await connection.close();
      await apiProc?.process.stop();
      await workerProc.stop();
      await temporal.stop();
    },
  };
}

/**
 * Ours with the worker inside the load generator's process, on one NativeConnection shared with the client:
 * the only set-up in which the TypeScript SDK can start a workflow eagerly (the first workflow task comes
 * back in the start response instead of through a poll). `eager: false` is the same set-up without it, so
 * the two rows differ only in eager start. The worker's CPU is counted in the "driver" column.
 */
async function inProcessEngine(name: string, ctx: EngineContext, eager: boolean, profile?: string): Promise<Engine> {
  const dir = engineDir(ctx, name);
  const temporal = await startTemporal(dir, 'wal', { server: ctx.temporalServer ?? 'dev' });
  const taskQueue = `bench-${name}`;
  installRuntimeOnce(path.join(ctx.dir, 'in-process-worker.log'));
  const mongo = new MongoClient(ctx.mongoUri, { monitorCommands: ctx.onMongoClient !== undefined });
  ctx.onMongoClient?.(mongo);
  // A shipped stored configuration (config/saga-config/), stored after each mix's seed: the seed drops the database,
  // so the other engines run without it.
  const configs = sagaConfigCollection(mongo.db(ctx.mongoDb));
  const connection = await NativeConnection.connect({ address: temporal.address });
  const dataConverter = dataConverterFromEnv();
  const client = new Client({ connection, dataConverter });
  const worker = await createSagaWorker({
    connection,
    namespace: 'default',
    taskQueue,
    db: mongo.db(ctx.mongoDb),
    servedCountries: SERVED_COUNTRIES,
    temporal: client,
    dataConverter,
    // the same WORKER_* variables bootstrap/worker-main.ts reads
    sizing: sizingFromConfig(loadConfig()),
  });
  const running = worker.run();
  let eagerStarts = 0;
  let starts = 0;
  return {
    name,
    processes: { ...temporal.processes },
    ...temporalSagaCalls(client, taskQueue, ORDER_SAGA, {
      eager,
      onStarted: (eagerly) => {
        starts++;
        if (eagerly) eagerStarts++;
      },
    }),
    note: () =>
      `${eagerStarts} of ${starts} starts were eager${profile ? `; config/saga-config/order-${profile}.json stored` : ''}`,
    ...(profile ? { afterSeed: () => putShippedConfig(configs, profile) } : {}),
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await mongo.close();
      await temporal.stop();
    },
  };
}

/** Validates a file of config/saga-config/ (`order-<name>.json`) against the order type's schema and stores it. */
async function putShippedConfig(configs: ReturnType<typeof sagaConfigCollection>, profile: string): Promise<void> {
  await putSagaConfig(configs, SagaType.order, readShippedConfig(SagaType.order, profile), {
    by: 'bench',
    byKind: 'cli',
  });
}

let runtimeInstalled = false;
/** The in-process worker logs to a file, as the worker process of `ours` does, not to the console. */
function installRuntimeOnce(logFile: string): void {
  if (runtimeInstalled) return;
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.createWriteStream(logFile, { flags: 'a' });
  const meta = (m: unknown) => {
    try {
      return JSON.stringify(m ?? {}, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    } catch {
      return '';
    }
  };
  Runtime.install({
    logger: new DefaultLogger('INFO', (e) =>
      out.write(
        `${new Date(Number(e.timestampNanos / 1_000_000n)).toISOString()} [${e.level}] ${e.message} ${meta(e.meta)}\n`,
      ),
    ),
  });
  runtimeInstalled = true;
}

/** Our worker process, as `npm start` runs it. */
const oursWorker = {
  file: path.join(root, 'bootstrap', 'worker-main.ts'),
  ready: 'Worker polling',
  workflowType: ORDER_SAGA,
};

export const engines: Record<string, (ctx: EngineContext) => Promise<Engine>> = {
  /** Ours as shipped: `bootstrap/worker-main.ts` (createSagaWorker) running `orderSaga`, dev server in WAL mode. */
  ours: (ctx) => temporalEngine('ours', ctx, { worker: oursWorker, encryption: 'on' }),
  /** Ours with PAYLOAD_ENCRYPTION=off (worker and client): what payload encryption costs on the direct path. */
  'ours-open': (ctx) => temporalEngine('ours-open', ctx, { worker: oursWorker, encryption: 'off' }),
  /**
   * Ours as users run it: the worker process and the API process (`bootstrap/api-main.ts`), each saga started by
   * `POST /orders` with a bearer API key, payloads encrypted.
   */
  'ours-api': (ctx) => temporalEngine('ours-api', ctx, { worker: oursWorker, encryption: 'on', api: { auth: 'on' } }),
  /** `ours-api` with PAYLOAD_ENCRYPTION=off and API_AUTH=off: what encryption and authentication cost together. */
  'ours-api-open': (ctx) =>
    temporalEngine('ours-api-open', ctx, { worker: oursWorker, encryption: 'off', api: { auth: 'off' } }),
  /** Ours with the dev server on SQLite's default pragmas (rollback journal, synchronous=FULL). */
  'ours-sqlite-default': (ctx) =>
    temporalEngine('ours-sqlite-default', ctx, { sqlite: 'default', worker: oursWorker, encryption: 'on' }),
  /** Ours, worker in the load generator's process, without eager start (the baseline for `ours-eager`). */
  'ours-inprocess': (ctx) => inProcessEngine('ours-inprocess', ctx, false),
  /** Ours, worker in the load generator's process, starting every saga eagerly. */
  'ours-eager': (ctx) => inProcessEngine('ours-eager', ctx, true),
  /**
   * `ours-eager` with config/saga-config/order-one-task.json stored: processPayment local too, so a saga that
   * succeeds is one workflow task (docs/performance.md, "One workflow task per saga").
   */
  'ours-one-task': (ctx) => inProcessEngine('ours-one-task', ctx, true, 'one-task'),
  /** Temporal as the samples write it: regular activities, default worker options. */
  'temporal-plain': (ctx) =>
    temporalEngine('temporal-plain', ctx, {
      worker: {
        file: path.join(__dirname, '..', 'engines', 'temporal-plain-worker.ts'),
        ready: 'plain worker ready',
        workflowType: 'plainOrderSaga',
      },
    }),
  async restate(ctx) {
    const dir = engineDir(ctx, 'restate');
    const server = await startRestate(dir);
    const port = await freePort();
    const service = await startNodeProcess(
      'service',
      path.join(__dirname, '..', 'engines', 'restate-service.ts'),
      dir,
      { MONGODB_URI: ctx.mongoUri, MONGODB_DB: ctx.mongoDb, PORT: String(port) },
      'restate service ready',
    );
    const reg = await fetch(`${server.admin}/deployments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: `http://127.0.0.1:${port}` }),
    });
    if (!reg.ok) throw new Error(`Restate deployment registration failed: ${reg.status} ${await reg.text()}`);
    await waitFor('the Restate ingress answers', () => answersOk(`${server.ingress}/restate/health`), {
      timeoutMs: 30_000,
    });
    return {
      name: 'restate',
      processes: { 'restate server': server.proc, service },
      async runSaga(input) {
        const r = await fetch(`${server.ingress}/OrderSaga/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input),
        });
        if (!r.ok) throw new Error(`restate ${r.status}: ${await r.text()}`);
        return (await r.json()) as string;
      },
      async stop() {
        await service.stop();
        await server.proc.stop();
      },
    };
  },
  async dbos(ctx) {
    const dir = engineDir(ctx, 'dbos');
    const pg = await startPostgres(dir);
    const port = await freePort();
    const app = await startNodeProcess(
      'app',
      path.join(__dirname, '..', 'engines', 'dbos-app.ts'),
      dir,
      { MONGODB_URI: ctx.mongoUri, MONGODB_DB: ctx.mongoDb, PORT: String(port), DBOS_SYSTEM_DATABASE_URL: pg.url },
      'dbos app ready',
    );
    return {
      name: 'dbos',
      processes: { postgres: pg.proc, app },
      async runSaga(input) {
        const r = await fetch(`http://127.0.0.1:${port}/saga`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input),
        });
        if (!r.ok) throw new Error(`dbos ${r.status}: ${await r.text()}`);
        return (await r.json()) as string;
      },
      async stop() {
        await app.stop();
        await pg.proc.stop();
      },
    };
  },
};

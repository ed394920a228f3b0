/** The engines under test, each behind the same small interface the load generator drives. */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import fs from 'node:fs';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../../common/config';
import { createSagaWorker } from '../../workers/create-worker';
import { dataConverterFromEnv, payloadKeyEnv } from '../../codec/data-converter';
import { sizingFromConfig } from '../../workers/sizing';
import type { ManagedProcess } from '../../scripts/lib/processes';
import { waitFor } from '../../scripts/lib/wait';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { SERVED_COUNTRIES } from './workload';
import { answersOk, startNodeProcess, startPostgres, startRestate, startTemporal, type SqliteMode } from './servers';
import { freePort } from '../../scripts/lib/servers';

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
  stop(): Promise<void>;
}

export interface EngineContext {
  dir: string;
  mongoUri: string;
  mongoDb: string;
}

const engineDir = (ctx: EngineContext, name: string) => path.join(ctx.dir, name);

/** Starting a saga and reading its history, the same for every Temporal engine. */
function temporalSagaCalls(
  client: Client,
  taskQueue: string,
  workflowType: string,
  { eager = false, onStarted }: { eager?: boolean; onStarted?: (eagerly: boolean) => void } = {},
): Pick<Engine, 'runSaga' | 'historyEvents'> {
  return {
    async runSaga(input) {
      const handle = await client.workflow.start(workflowType, {
        taskQueue,
        workflowId: orderWorkflowId(input.orderId),
        args: [input],
        ...(eager ? { requestEagerStart: true } : {}),
      });
      onStarted?.(handle.eagerlyStarted);
      const result = (await handle.result()) as OrderState | string;
      return typeof result === 'string' ? result : result.status;
    },
    async historyEvents(orderId) {
      const history = await client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
      return history.events?.length ?? 0;
    },
  };
}

async function temporalEngine(
  name: string,
  ctx: EngineContext,
  mode: SqliteMode,
  worker: { file: string; ready: string; workflowType: string; ours?: boolean },
): Promise<Engine> {
  const dir = engineDir(ctx, name);
  const temporal = await startTemporal(dir, mode);
  const taskQueue = `bench-${name}`;
  const workerProc = await startNodeProcess(
    'worker',
    worker.file,
    dir,
    {
      TEMPORAL_ADDRESS: temporal.address,
      MONGODB_URI: ctx.mongoUri,
      MONGODB_DB: ctx.mongoDb,
      TASK_QUEUE: taskQueue,
      SERVED_COUNTRIES: SERVED_COUNTRIES.join(','),
      // ours runs as shipped, payloads encrypted (the key ring bench/run.ts made); plain Temporal has no codec
      ...(worker.ours ? payloadKeyEnv() : {}),
    },
    worker.ready,
  );
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, ...(worker.ours ? { dataConverter: dataConverterFromEnv() } : {}) });
  return {
    name,
    processes: { 'temporal server': temporal.process, worker: workerProc },
    ...temporalSagaCalls(client, taskQueue, worker.workflowType),
    async stop() {
      await connection.close();
      await workerProc.stop();
      await temporal.process.stop();
    },
  };
}

/**
 * Ours with the worker inside the load generator's process, on one NativeConnection shared with the client:
 * the only set-up in which the TypeScript SDK can start a workflow eagerly (the first workflow task comes
 * back in the start response instead of through a poll). `eager: false` is the same set-up without it, so
 * the two rows differ only in eager start. The worker's CPU is counted in the "driver" column.
 */
async function inProcessEngine(name: string, ctx: EngineContext, eager: boolean): Promise<Engine> {
  const dir = engineDir(ctx, name);
  const temporal = await startTemporal(dir, 'wal');
  const taskQueue = `bench-${name}`;
  installRuntimeOnce(path.join(ctx.dir, 'in-process-worker.log'));
  const mongo = new MongoClient(ctx.mongoUri);
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
    processes: { 'temporal server': temporal.process },
    ...temporalSagaCalls(client, taskQueue, ORDER_SAGA, {
      eager,
      onStarted: (eagerly) => {
        starts++;
        if (eagerly) eagerStarts++;
      },
    }),
    note: () => `${eagerStarts} of ${starts} starts were eager`,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await mongo.close();
      await temporal.process.stop();
    },
  };
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

const root = path.join(__dirname, '..', '..');

export const engines: Record<string, (ctx: EngineContext) => Promise<Engine>> = {
  /** Ours as shipped: `bootstrap/worker-main.ts` (createSagaWorker) running `orderSaga`, dev server in WAL mode. */
  ours: (ctx) =>
    temporalEngine('ours', ctx, 'wal', {
      file: path.join(root, 'bootstrap', 'worker-main.ts'),
      ready: 'Worker polling',
      workflowType: ORDER_SAGA,
      ours: true,
    }),
  /** Ours with the dev server on SQLite's default pragmas (rollback journal, synchronous=FULL). */
  'ours-sqlite-default': (ctx) =>
    temporalEngine('ours-sqlite-default', ctx, 'default', {
      file: path.join(root, 'bootstrap', 'worker-main.ts'),
      ready: 'Worker polling',
      workflowType: ORDER_SAGA,
      ours: true,
    }),
  /** Ours, worker in the load generator's process, without eager start (the baseline for `ours-eager`). */
  'ours-inprocess': (ctx) => inProcessEngine('ours-inprocess', ctx, false),
  /** Ours, worker in the load generator's process, starting every saga eagerly. */
  'ours-eager': (ctx) => inProcessEngine('ours-eager', ctx, true),
  /** Temporal as the samples write it: regular activities, default worker options. */
  'temporal-plain': (ctx) =>
    temporalEngine('temporal-plain', ctx, 'wal', {
      file: path.join(__dirname, '..', 'engines', 'temporal-plain-worker.ts'),
      ready: 'plain worker ready',
      workflowType: 'plainOrderSaga',
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

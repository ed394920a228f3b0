import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Db } from 'mongodb';
import type { FaultPlan } from '../../workers/interceptors/fault-injection';
import { createApp } from '../../api/app';
import { dataConverterFromEnv } from '../../codec/data-converter';
import { createSagaWorker } from '../../workers/create-worker';
import type { SagaHooks } from './saga-hooks';

/**
 * The one way tests start a saga worker and the API in this process (the harness, the fault tests' workers):
 * the real workflows from the bundle global-setup built, on their own connection, with a short shutdown grace.
 */
export const servedCountries = ['US', 'IE', 'DE', 'FR', 'GB'];

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\``);
  return value;
}

export interface LaneDeps {
  db: Db;
  /** Client of the test (and of the activities that signal other sagas). */
  client: Client;
}

export interface TestWorker {
  worker: Worker;
  stop(): Promise<void>;
}

/**
 * A running saga worker on `taskQueue`: `hooks` hold or break the sagas their rules name (saga-hooks.ts, the tests'
 * one way to do it); `faults`, a fault plan as SAGA_FAULTS gives one, only for the tests of that hook itself.
 */
export async function startTestWorker(
  { db, client }: LaneDeps,
  { taskQueue, hooks, faults }: { taskQueue: string; hooks?: SagaHooks; faults?: FaultPlan },
): Promise<TestWorker> {
  const connection = await NativeConnection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  try {
    const worker = await createSagaWorker({
      connection,
      namespace: 'default',
      taskQueue,
      db,
      servedCountries,
      temporal: client,
      dataConverter: dataConverterFromEnv(),
      workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') },
      shutdownGraceSeconds: 2,
      faults,
      ...(hooks ? { activityInterceptors: [hooks.interceptor] } : {}),
    });
    const running = worker.run();
    return {
      worker,
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await connection.close();
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

export interface TestApi {
  baseUrl: string;
  server: Server;
  stop(): Promise<void>;
}

/** The real API on a free port of 127.0.0.1, starting sagas on `taskQueue`. */
/** The test dev server's Web UI origins (TEMPORAL_UI_URL, as 127.0.0.1 and as localhost), for the codec's CORS. */
function uiOrigins(): string[] {
  const ui = process.env.TEMPORAL_UI_URL;
  if (!ui) return [];
  const url = new URL(ui);
  return [url.origin, `${url.protocol}//localhost:${url.port}`];
}

export async function startTestApi({ db, client }: LaneDeps, taskQueue: string, port = 0): Promise<TestApi> {
  const server = createApp({
    temporal: client,
    db,
    taskQueue,
    bodyLimit: 100_000,
    payloadCodecs: dataConverterFromEnv().payloadCodecs,
    codecCorsOrigins: uiOrigins(),
  }).listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

import type { Server } from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Db } from 'mongodb';
import type { FaultPlan } from '../../workers/interceptors/fault-injection';
import type { CallLimits } from '../../workers/interceptors/call-limits';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { createApp } from '../../api/app';
import { dataConverterFromEnv } from '../../codec/data-converter';
import { secretBoxFromEnv } from '../../codec/secret-box';
import { apiKeyAuthenticator, type Authenticator, type ConfiguredKey } from '../../api/auth';
import { allRoles, type Role } from '../../common/roles';
import { apiKeys, createApiKey, hashApiKey } from '../../store/api-keys';
import { createSagaWorker } from '../../workers/create-worker';
import type { SagaHooks } from './saga-hooks';
import pino from 'pino';
import type { Broker } from '../../broker/connection';
import { startBrokerCarrier } from '../../workers/carrier-replies';

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

/** The broker carrier of a test worker, as CARRIER=broker and the CARRIER_* variables configure a real one. */
export interface TestCarrierOptions {
  broker: Broker;
  commandQueue: string;
  replyTimeoutSeconds: number;
  attempts: number;
}

/**
 * A running saga worker on `taskQueue`: `hooks` hold or break the sagas their rules name (saga-hooks.ts, the tests'
 * one way to do it); `faults`, a fault plan as SAGA_FAULTS gives one, only for the tests of that hook itself;
 * `carrier`, the broker carrier (its command link and this task queue's reply consumer, stopped with the worker);
 * `bundle` and `callLimits`, another prebuilt workflow bundle and the call limits it was made with (the failure
 * matrix, scripts/lib/failure-matrix/); `activityInterceptors`, more interceptors inside the hooks'.
 */
export async function startTestWorker(
  { db, client }: LaneDeps,
  {
    taskQueue,
    hooks,
    faults,
    carrier: carrierOptions,
    bundle,
    callLimits,
    activityInterceptors = [],
  }: {
    taskQueue: string;
    hooks?: SagaHooks;
    faults?: FaultPlan;
    carrier?: TestCarrierOptions;
    bundle?: string;
    callLimits?: CallLimits;
    activityInterceptors?: ActivityInterceptorsFactory[];
  },
): Promise<TestWorker> {
  const connection = await NativeConnection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  const carrier = carrierOptions
    ? await startBrokerCarrier({ ...carrierOptions, client, taskQueue, logger: pino({ level: 'silent' }) })
    : undefined;
  try {
    const worker = await createSagaWorker({
      connection,
      namespace: 'default',
      taskQueue,
      db,
      servedCountries,
      temporal: client,
      dataConverter: dataConverterFromEnv(),
      workflowBundle: { codePath: bundle ?? requireEnv('WORKFLOW_BUNDLE_PATH') },
      shutdownGraceSeconds: 2,
      faults,
      ...(callLimits ? { callLimits } : {}),
      activityInterceptors: [...(hooks ? [hooks.interceptor] : []), ...activityInterceptors],
      ...(carrier ? { carrier: carrier.link } : {}),
    });
    const running = worker.run();
    return {
      worker,
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await carrier?.stop();
        await connection.close();
      },
    };
  } catch (err) {
    await carrier?.stop();
    await connection.close();
    throw err;
  }
}

/**
 * The all-roles key of this test run (made by global-setup.ts), which every test API accepts and `http()` sends
 * unless told otherwise; as an API_KEYS entry for the API processes tests start (`testApiKeysEntry`).
 */
export const testApiKey = (): string => requireEnv('TEST_API_KEY');
const testKey = (): ConfiguredKey => ({ name: 'test', roles: allRoles, hash: hashApiKey(testApiKey()) });
export const testApiKeysEntry = (): string => `test:${allRoles.join('+')}:${hashApiKey(testApiKey())}`;

/** What a test API accepts: the run's all-roles key, and the keys stored in `db` (`createTestKeys`). */
export function testAuthenticator(db?: Db): Authenticator {
  return apiKeyAuthenticator({ configured: [testKey()], ...(db ? { keys: apiKeys(db) } : {}) });
}

/** One key per role, and one with every role, stored (hashed) in `db`'s `apiKeys` like `npm run api-key` does. */
export type TestKeys = Record<Role | 'all', string>;
export async function createTestKeys(db: Db): Promise<TestKeys> {
  const keys = apiKeys(db);
  const one = async (name: string, roles: readonly Role[]) => (await createApiKey(keys, { name, roles })).key;
  return {
    reader: await one('test-reader', ['reader']),
    writer: await one('test-writer', ['writer']),
    operator: await one('test-operator', ['operator']),
    metrics: await one('test-metrics', ['metrics']),
    all: await one('test-all', allRoles),
  };
}

export interface TestApi {
  baseUrl: string;
  server: Server;
  keys: TestKeys;
  stop(): Promise<void>;
}

/** The test dev server's Web UI origins (TEMPORAL_UI_URL, as 127.0.0.1 and as localhost), for the codec's CORS. */
function uiOrigins(): string[] {
  const ui = process.env.TEMPORAL_UI_URL;
  if (!ui) return [];
  const url = new URL(ui);
  return [url.origin, `${url.protocol}//localhost:${url.port}`];
}

/**
 * The hosts a test API lets webhooks target: this machine by its loopback names, and by its host name (which
 * /etc/hosts maps to a loopback or private address: a name the dispatcher must refuse to connect to).
 */
export const testWebhookHosts = ['localhost', '127.0.0.1', os.hostname().toLowerCase()];

/** The real API on a free port of 127.0.0.1, starting sagas on `taskQueue`, with keys per role in `db`. */
export async function startTestApi({ db, client }: LaneDeps, taskQueue: string, port = 0): Promise<TestApi> {
  const keys = await createTestKeys(db);
  const auth = testAuthenticator(db);
  // A limit no test reaches (schemathesis sends thousands of requests a minute); abuse.test.ts tests the limit.
  const rateLimit = { limit: 1_000_000, windowSeconds: 60 };
  const server = createApp({
    temporal: client,
    db,
    taskQueue,
    bodyLimit: 100_000,
    payloadCodecs: dataConverterFromEnv().payloadCodecs,
    codecCorsOrigins: uiOrigins(),
    auth,
    rateLimit,
    webhooks: { allowedHosts: testWebhookHosts, secrets: secretBoxFromEnv() },
  }).listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    keys,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { connectDraining } from '../../bootstrap/temporal-connection';
import { defaultPayloadConverter } from '@temporalio/common';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import type { Db, MongoClient } from 'mongodb';
import { dataConverterFromEnv } from '../../codec/data-converter';
import { collections, connectMongo, type Collections } from '../../store/db';
import { finalSagaStatuses, SagaStatus, type SagaState } from '../../common/saga-state';
import { waitForSagaStatus } from '../../scripts/lib/wait';
import { requireEnv, startTestApi, startTestWorker, testApiKey, type TestKeys, type TestWorker } from './lane';
import pino from 'pino';
import { connectBroker, type Broker } from '../../broker/connection';
import { SagaHooks } from './saga-hooks';

let runtimeInstalled = false;

export { requireEnv, servedCountries, testApiKey } from './lane';

export interface Harness {
  client: Client;
  db: Db;
  cols: Collections;
  taskQueue: string;
  worker: Worker;
  /** Rules that hold or break the sagas they name on this worker (the one test kit for that: saga-hooks.ts). */
  hooks: SagaHooks;
  /** Base URL of the API, started on a free port against the same Temporal and MongoDB. */
  baseUrl: string;
  server: Server;
  /** Keys of the API, one per role and one with all roles (`http()` sends the run's all-roles key by default). */
  keys: TestKeys;
  /** With `carrier`: the harness's connection to RabbitMQ, which its worker's carrier link and replies use. */
  broker?: Broker;
  /** Stops the worker (and its carrier reply consumer): no worker polls the task queue until `startWorker()`. */
  stopWorker(): Promise<void>;
  /** Starts a new worker on the same task queue, with the same hooks and carrier settings. */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** The broker carrier of a harness's worker (CARRIER=broker with these CARRIER_* settings). */
export interface HarnessCarrier {
  commandQueue: string;
  replyTimeoutSeconds: number;
  attempts: number;
}

/**
 * Everything a test needs, against the real servers `npm test` started: its own MongoDB database
 * and task queue (so test files never see each other's data), a worker running the real workflows
 * and activities, and the real API on a free port. `worker`: another bundle, call limits and activity interceptors
 * for its worker (the failure matrix's).
 */
export async function startHarness(
  name: string,
  options: {
    carrier?: HarnessCarrier;
    worker?: Pick<Parameters<typeof startTestWorker>[1], 'bundle' | 'callLimits' | 'activityInterceptors'>;
  } = {},
): Promise<Harness> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const suffix = `${name}_${randomUUID().slice(0, 8)}`;
  const taskQueue = `test-${suffix}`;
  const dbName = `${requireEnv('MONGODB_DB')}_${suffix}`.slice(0, 60);
  const mongo: MongoClient = (await connectMongo(requireEnv('MONGODB_URI'), dbName)).client;
  const db = mongo.db(dbName);
  const address = requireEnv('TEMPORAL_ADDRESS');
  const connection = await connectDraining({ address });
  const client = new Client({ connection: connection.connection, dataConverter: dataConverterFromEnv() });
  const hooks = new SagaHooks();
  const broker = options.carrier
    ? await connectBroker({ url: requireEnv('AMQP_URL'), logger: pino({ level: 'silent' }), connectionName: suffix })
    : undefined;
  const carrier = broker && options.carrier ? { broker, ...options.carrier } : undefined;
  const startLane = () =>
    startTestWorker({ db, client }, { taskQueue, hooks, ...options.worker, ...(carrier ? { carrier } : {}) });
  let lane: TestWorker | undefined = await startLane();
  const api = await startTestApi({ db, client }, taskQueue);

  return {
    client,
    db,
    cols: collections(db),
    taskQueue,
    get worker() {
      if (!lane) throw new Error('the harness worker is stopped');
      return lane.worker;
    },
    hooks,
    baseUrl: api.baseUrl,
    server: api.server,
    keys: api.keys,
    ...(broker ? { broker } : {}),
    async stopWorker() {
      hooks.releaseAll();
      await lane?.stop();
      lane = undefined;
    },
    async startWorker() {
      lane ??= await startLane();
    },
    async stop() {
      hooks.releaseAll();
      await api.stop();
      await lane?.stop();
      await broker?.close();
      await connection.close();
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
    },
  };
}

/** Waits until the saga reaches a final status (or FAILED) and returns its state. */
export function waitForSaga<S extends SagaState>(
  handle: WorkflowHandle,
  { timeoutMs = 90_000, statuses = [...finalSagaStatuses, SagaStatus.FAILED] as SagaStatus[] } = {},
): Promise<S> {
  return waitForSagaStatus<S>(handle, statuses, { timeoutMs });
}

/** The regular activities the workflow scheduled, in history order (local activities are not scheduled). */
export async function scheduledActivities(handle: WorkflowHandle): Promise<string[]> {
  const history: temporal.api.history.v1.IHistory = await handle.fetchHistory();
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((name): name is string => typeof name === 'string');
}

/** One activity execution as Temporal's history records it. */
export interface ExecutedActivity {
  name: string;
  /** A local activity (a `core_local_activity` marker) rather than a regular one (`ActivityTaskScheduled`). */
  local: boolean;
}

/** The activity type a `core_local_activity` marker records (JSON in `details.data`, written by the SDK's core). */
function localActivityType(event: temporal.api.history.v1.IHistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.['data']?.payloads?.[0]?.data;
  if (!data) return undefined;
  const parsed = JSON.parse(new TextDecoder().decode(data)) as { activity_type?: unknown };
  return typeof parsed.activity_type === 'string' ? parsed.activity_type : undefined;
}

/**
 * Every activity the workflow ran, regular and local, in history order: a regular one where it was scheduled, a
 * local one where its marker was recorded (once it finished, after its retries; one marker per execution).
 */
export async function executedActivities(handle: WorkflowHandle): Promise<ExecutedActivity[]> {
  const history: temporal.api.history.v1.IHistory = await handle.fetchHistory();
  const executed: ExecutedActivity[] = [];
  for (const e of history.events ?? []) {
    const regular = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (typeof regular === 'string') executed.push({ name: regular, local: false });
    const local = localActivityType(e);
    if (local !== undefined) executed.push({ name: local, local: true });
  }
  return executed;
}

/** `Authorization` of the run's all-roles key: what the test kit sends unless a test says otherwise. */
export const authHeaders = (): { authorization: string } => ({ authorization: `Bearer ${testApiKey()}` });

/**
 * Small JSON-over-HTTP client for tests. It sends the run's all-roles key unless `headers` has an `authorization`
 * of its own (an empty one: no credential at all).
 */
export async function http(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON of whatever shape the route answers
): Promise<{ status: number; body: any; headers: Headers }> {
  const own = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
  const auth = own === undefined ? authHeaders() : headers[own] ? { [own]: headers[own] } : {};
  const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== own));
  const sent = { ...rest, ...auth };
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? sent : { 'content-type': 'application/json', ...sent },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** A payload of a fetched history, decrypted with the run's key ring and converted to its value. */
export async function decodePayload(payload: temporal.api.common.v1.IPayload): Promise<unknown> {
  let decoded = [payload];
  for (const codec of [...(dataConverterFromEnv().payloadCodecs ?? [])].reverse())
    decoded = await codec.decode(decoded);
  return defaultPayloadConverter.fromPayload(decoded[0]!);
}

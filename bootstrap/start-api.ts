import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { connectDraining } from './temporal-connection';
import type { Db, MongoClient } from 'mongodb';
import { createApp } from '../api/app';
import { createApiMetrics } from '../api/metrics';
import { operations } from '../api/operations';
import { ORDER_SAGA } from '../common/order';
import { TRANSPORT_ORDER } from '../common/transport';
import { anyAuthenticator, apiKeyAuthenticator, jwtAuthenticator, type Authenticator } from '../api/auth';
import { idempotencyKeys, purgeExpiredKeys } from '../api/idempotency';
import { sagaDataConverter } from '../codec/data-converter';
import { secretBox } from '../codec/secret-box';
import { apiKeys } from '../store/api-keys';
import { connectMongo } from '../store/db';
import { createSagaWorker } from '../workers/create-worker';
import type { ServiceConfig } from './config';
import type { Logger } from './logging';
import { installRuntime } from './telemetry';
import { workerTracing, type Tracing } from './tracing';
import { workerOptionsFromConfig } from './worker-options';
import { connectCarrier } from './carrier';

export interface RunningApi {
  server: Server;
  port: number;
  /** With API_EMBEDDED_WORKER: settles when the embedded worker stops; rejects if it fails. */
  embeddedWorker?: Promise<void>;
  stop(): Promise<void>;
}

interface Temporal {
  client: Client;
  /** The payload codecs of the client, for the codec endpoint. */
  payloadCodecs: PayloadCodec[];
  close(): Promise<void>;
  worker?: { instance: Worker; running: Promise<void> };
}

/**
 * API_EMBEDDED_WORKER: one NativeConnection shared by the client and a saga worker in this process, the only
 * set-up in which the SDK can start a workflow eagerly. The API owns SIGTERM here: the SDK's own signal
 * handlers are turned off so that requests in flight finish before the worker drains.
 */
async function connectTemporal(
  config: ServiceConfig,
  db: Db,
  logger: Logger,
  tracing: Tracing | undefined,
): Promise<Temporal> {
  // What the API does (start, cancel, signal) shows under this identity in histories and the Web UI.
  const identity = `${process.pid}@${os.hostname()}/api`;
  const dataConverter = sagaDataConverter(config.payloadKeyRing);
  const interceptors = tracing ? { interceptors: tracing.clientInterceptors() } : {};
  if (!config.API_EMBEDDED_WORKER) {
    const draining = await connectDraining({ address: config.TEMPORAL_ADDRESS });
    const connection = draining.connection;
    return {
      client: new Client({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        identity,
        dataConverter,
        ...interceptors,
      }),
      payloadCodecs: dataConverter.payloadCodecs ?? [],
      close: () => draining.close(),
    };
  }
  const traced = workerTracing(config, tracing);
  installRuntime(config, logger, { shutdownSignals: [] });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      identity,
      dataConverter,
      ...interceptors,
    });
    const carrier = await connectCarrier(config, client, logger);
    const worker = await createSagaWorker({
      ...workerOptionsFromConfig(config),
      connection,
      db,
      temporal: client,
      ...(carrier ? { carrier: carrier.link } : {}),
      ...(traced ? { tracing: traced } : {}),
    }).catch(async (err: unknown) => {
      await carrier?.close();
      throw err;
    });
    const running = worker.run();
    // Handled by the caller (bootstrap/api-main.ts exits 1 on it); this keeps an early failure from being unhandled.
    running.catch(() => undefined);
    return {
      client,
      payloadCodecs: dataConverter.payloadCodecs ?? [],
      close: async () => {
        await carrier?.close();
        await connection.close();
      },
      worker: { instance: worker, running },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

/**
 * Deletes expired Idempotency-Key records at start and then every hour (or every retention period, if
 * shorter). A failed purge is logged and tried again at the next tick; it never stops the API.
 */
function periodicPurge(db: Db, retentionMs: number, logger: Logger): { stop(): void } {
  const run = () =>
    purgeExpiredKeys(idempotencyKeys(db), retentionMs).then(
      (n) => n > 0 && logger.info({ deleted: n }, `deleted ${n} expired Idempotency-Key records`),
      (err: unknown) => logger.error({ err }, 'purging expired Idempotency-Key records failed'),
    );
  void run();
  const timer = setInterval(() => void run(), Math.min(retentionMs, 60 * 60 * 1000));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The API's authentication from the configuration: API keys (MongoDB and API_KEYS), JWTs if configured; or off. */
export function authenticatorFromConfig(config: ServiceConfig, db: Db): Authenticator | 'off' {
  if (config.API_AUTH === 'off') return 'off';
  const keys = apiKeyAuthenticator({ keys: apiKeys(db), configured: config.API_KEYS });
  const { API_JWT_JWKS_URL: jwksUrl, API_JWT_ISSUER: issuer, API_JWT_AUDIENCE: audience } = config;
  if (!jwksUrl || !issuer || !audience) return keys;
  return anyAuthenticator(
    jwtAuthenticator({ jwksUrl, issuer, audience, rolesClaim: config.API_JWT_ROLES_CLAIM }),
    keys,
  );
}

/**
 * Connects to Temporal and MongoDB and listens. `stop()` stops accepting connections, ends event streams,
 * lets requests in flight finish, drains the embedded worker if there is one, then closes the clients.
 * With `tracing` (bootstrap/tracing.ts) its Temporal clients and embedded worker are traced.
 */
export async function startApi(config: ServiceConfig, logger: Logger, tracing?: Tracing): Promise<RunningApi> {
  let mongo: MongoClient | undefined;
  let temporal: Temporal | undefined;
  try {
    const connected = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
    mongo = connected.client;
    temporal = await connectTemporal(config, connected.db, logger, tracing);
    const shutdown = new AbortController();
    const retentionMs = config.IDEMPOTENCY_KEY_RETENTION_HOURS * 60 * 60 * 1000;
    const purge = periodicPurge(connected.db, retentionMs, logger);
    const app = createApp({
      logger,
      temporal: temporal.client,
      db: connected.db,
      taskQueue: config.TASK_QUEUE,
      bodyLimit: config.BODY_LIMIT,
      auth: authenticatorFromConfig(config, connected.db),
      rateLimit: { limit: config.API_RATE_LIMIT, windowSeconds: config.API_RATE_LIMIT_WINDOW_SECONDS },
      admission: { maxStarting: config.API_MAX_STARTING_SAGAS },
      shutdown: shutdown.signal,
      eagerStart: temporal.worker !== undefined,
      idempotencyRetentionMs: retentionMs,
      payloadCodecs: temporal.payloadCodecs,
      codecCorsOrigins: config.CODEC_CORS_ORIGIN,
      codecSessionMs: config.CODEC_SESSION_HOURS * 3_600_000,
      webhooks: { allowedHosts: config.WEBHOOK_ALLOWED_HOSTS, secrets: secretBox(config.payloadKeyRing) },
      metrics: createApiMetrics({
        operations,
        processMetrics: true,
        waiting: { temporal: temporal.client, taskQueue: config.TASK_QUEUE, sagaTypes: [ORDER_SAGA, TRANSPORT_ORDER] },
      }),
    });
    const server = app.listen(config.PORT, config.HOST);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const clients = { mongo, temporal };
    return {
      server,
      port,
      ...(temporal.worker ? { embeddedWorker: temporal.worker.running } : {}),
      async stop() {
        // Event streams end, /ready answers 503; requests in flight finish, then the clients close.
        shutdown.abort();
        purge.stop();
        await new Promise<void>((resolve) => {
          // Keep-alive connections that go idle once their request finished are closed too.
          const sweep = setInterval(() => server.closeIdleConnections(), 100);
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          server.closeIdleConnections();
        });
        const worker = clients.temporal.worker;
        if (worker) {
          // No new tasks; running activities get WORKER_SHUTDOWN_GRACE_SECONDS to finish.
          if (worker.instance.getState() === 'RUNNING') worker.instance.shutdown();
          await worker.running.catch(() => undefined);
        }
        await clients.temporal.close();
        await clients.mongo.close();
        await tracing?.shutdown(); // the spans still buffered
      },
    };
  } catch (err) {
    if (temporal?.worker) {
      temporal.worker.instance.shutdown();
      await temporal.worker.running.catch(() => undefined);
    }
    await temporal?.close();
    await mongo?.close();
    throw err;
  }
}

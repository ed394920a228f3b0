import express, { type Express, type RequestHandler } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { collections } from '../store/db';
import { admission, type AdmissionOptions } from './admission';
import { DEFAULT_IDEMPOTENCY_RETENTION_MS } from './idempotency';
import { AppError, errorHandler, notFoundHandler, requireJson } from './errors';
import { openApiPath, operations } from './openapi';
import { docsRoutes } from './routes/docs';
import { healthRoutes } from './routes/health';
import { orderRoutes } from './routes/orders';
import { participantRoutes } from './routes/participants';
import { loyaltyRoutes } from './routes/loyalty';
import { transportOrderRoutes } from './routes/transport-orders';

export interface AppDeps {
  temporal: Client;
  db: Db;
  taskQueue: string;
  bodyLimit: number;
  /** Aborted when the API shuts down: `/ready` answers 503 and event streams end. */
  shutdown?: AbortSignal;
  /** How often an event stream asks its saga for its state (default 300 ms). */
  eventsPollMs?: number;
  /** Longest one Temporal call may take before the request answers 503 (default 5 s). */
  temporalCallMs?: number;
  /**
   * Ask the server to hand a new saga's first workflow task straight to a worker in this process. Only with a
   * client on a NativeConnection shared with a running worker (API_EMBEDDED_WORKER; bootstrap/start-api.ts).
   */
  eagerStart?: boolean;
  /** How long an Idempotency-Key is remembered (default 24 h). */
  idempotencyRetentionMs?: number;
  /** How many saga starts may be in progress at once, and the Retry-After beyond (defaults in admission.ts). */
  admission?: AdmissionOptions;
}

/** 405 with an `Allow` header for a documented path asked with a method it does not answer to. */
function methodNotAllowed(): RequestHandler {
  const byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const op of operations) {
    const key = openApiPath(op.path);
    const pattern = new RegExp(`^${op.path.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
    const entry = byPath.get(key) ?? { pattern, methods: new Set<string>() };
    entry.methods.add(op.method.toUpperCase());
    if (op.method === 'get') entry.methods.add('HEAD');
    byPath.set(key, entry);
  }
  return (req, _res, next) => {
    for (const { pattern, methods } of byPath.values()) {
      if (pattern.test(req.path) && !methods.has(req.method)) {
        throw AppError.methodNotAllowed(`${req.path} does not answer to ${req.method}`, [...methods]);
      }
    }
    next();
  };
}

/** The HTTP API: participant data and sagas. Every error leaves through `errorHandler`. */
export function createApp({
  temporal,
  db,
  taskQueue,
  bodyLimit,
  shutdown = new AbortController().signal,
  eventsPollMs = 300,
  temporalCallMs = 5_000,
  eagerStart = false,
  idempotencyRetentionMs = DEFAULT_IDEMPOTENCY_RETENTION_MS,
  admission: admissionOptions,
}: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple'); // no nested objects from query strings
  app.use(healthRoutes({ temporal, db, shutdown }));
  app.use(docsRoutes());
  app.use(methodNotAllowed());
  // Only the saga starts are counted, and before their body is read.
  app.post(['/orders', '/transport-orders'], admission(admissionOptions));
  app.use(requireJson);
  app.use(express.json({ limit: bodyLimit, strict: true }));
  app.use(participantRoutes(collections(db)));
  app.use(
    orderRoutes({
      temporal,
      db,
      taskQueue,
      eventsPollMs,
      temporalCallMs,
      shutdown,
      eagerStart,
      idempotencyRetentionMs,
    }),
  );
  app.use(
    transportOrderRoutes({ temporal, db, taskQueue, temporalCallMs, eagerStart, idempotencyRetentionMs }),
    loyaltyRoutes({ temporal, db, temporalCallMs }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Db } from 'mongodb';
import pino, { type Logger } from 'pino';
import { codecSessions } from '../store/codec-sessions';
import { collections } from '../store/db';
import { admission, type AdmissionOptions } from './admission';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { authorize, codecSessionAuthenticator, type Authenticator } from './auth';
import { DEFAULT_RATE_LIMIT, rateLimitPerCredential, type RateLimitOptions } from './rate-limit';
import { DEFAULT_IDEMPOTENCY_RETENTION_MS } from './idempotency';
import { AppError, errorHandler, notFoundHandler, requireJson, requireMediaType } from './errors';
import { methodNotAllowed, mountOperations, type Operation } from './operation';
import { operations, type Handlers } from './operations';
import { requestLogging } from './request-log';
import { codecCors, codecHandlers, codecSessionHandlers } from './routes/codec';
import { docsHandlers, docsRoutes } from './routes/docs';
import { healthHandlers } from './routes/health';
import { metricsHandlers } from './routes/metrics';
import { orderHandlers } from './routes/orders';
import { participantHandlers } from './routes/participants';
import { loyaltyHandlers } from './routes/loyalty';
import { transportOrderHandlers } from './routes/transport-orders';
import { genericSagaHandlers, sagaTypeHandlers } from './routes/sagas';
import { FollowHub } from './sagas/follow-hub';
import { isSagaType, sagaTypes } from './sagas/catalogue';
import type { OrderFulfilmentInput, OrderFulfilmentState } from '../common/order-fulfilment';
import type { SagaType } from '../common/domain-events';
import type { OrderSagaInput, OrderState } from '../common/order';
import type { TransportOrderInput, TransportOrderState } from '../common/transport';
import { webhookHandlers } from './routes/webhooks';
import { sagaConfigHandlers } from './routes/saga-config';
import { secretBox, type SecretBox } from '../codec/secret-box';

export interface AppDeps {
  /**
   * Where the request lines go (api/request-log.ts), and every line logged for a request (`req.log`): the process's
   * logger (bootstrap/logging.ts). Default: errors only, as JSON on stdout (tests).
   */
  logger?: Logger;
  temporal: Client;
  db: Db;
  taskQueue: string;
  bodyLimit: number;
  /**
   * Who may call what: every operation but the public ones needs a bearer credential with one of its roles
   * (api/auth.ts). `'off'` lets every request through unauthenticated (API_AUTH=off): never in production.
   */
  auth: Authenticator | 'off';
  /** Requests per credential and window beyond which the API answers 429 (default 600 a minute); `'off'`: none. */
  rateLimit?: RateLimitOptions | 'off';
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
  /** The payload codecs the codec endpoint runs (the clients' own: codec/data-converter.ts); none: identity. */
  payloadCodecs?: readonly PayloadCodec[];
  /** Browser origins allowed to call the codec endpoint (CODEC_CORS_ORIGIN, the Web UI's); none: no CORS. */
  codecCorsOrigins?: readonly string[];
  /** How long a browser's codec session lasts (CODEC_SESSION_HOURS; default 8 h). */
  codecSessionMs?: number;
  /**
   * What `GET /metrics` serves and the requests are counted in (api/metrics.ts); default: a registry of this app's
   * own, without process metrics or the waiting-sagas gauge (bootstrap/start-api.ts adds both).
   */
  metrics?: ApiMetrics;
  /**
   * Webhook subscriptions: the hosts they may target (WEBHOOK_ALLOWED_HOSTS) and the box that seals their secrets
   * (codec/secret-box.ts with the payload key ring). Default: no host allowed, so none can be created.
   */
  webhooks?: { allowedHosts: readonly string[]; secrets: SecretBox };
}

const DEFAULT_CODEC_SESSION_MS = 8 * 3_600_000;

/**
 * The HTTP API: participant data and sagas, one route per entry of the table of operations (`api/operations.ts`),
 * each answered by its handler. Every error leaves through `errorHandler`.
 */
export function createApp({
  logger = pino({ level: 'error' }),
  temporal,
  db,
  taskQueue,
  bodyLimit,
  auth,
  rateLimit = DEFAULT_RATE_LIMIT,
  shutdown = new AbortController().signal,
  eventsPollMs = 300,
  temporalCallMs = 5_000,
  eagerStart = false,
  idempotencyRetentionMs = DEFAULT_IDEMPOTENCY_RETENTION_MS,
  admission: admissionOptions,
  payloadCodecs = [],
  codecCorsOrigins = [],
  codecSessionMs = DEFAULT_CODEC_SESSION_MS,
  metrics = createApiMetrics({ operations }),
  webhooks = { allowedHosts: [], secrets: secretBox(undefined) },
}: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // First, so that every answer is logged with its request id (and carries it in X-Request-Id), counted and timed,
  // refusals included.
  app.use(
    requestLogging(logger, { quietPaths: [operations.health.path, operations.ready.path, operations.metrics.path] }),
  );
  app.use(metrics.middleware);
  // Security headers on every answer (CSP, nosniff, frame-ancestors, HSTS, CORP…). No CORS: no Access-Control-*
  // header is ever sent, so browsers on other origins cannot read the API. Without upgrade-insecure-requests, so
  // that Swagger UI still loads its scripts over plain http on localhost.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.set('query parser', 'simple'); // no nested objects from query strings
  // Every saga type's handlers, once: its own paths (`/orders`) and `/sagas/{type}` share them.
  const sagaDeps = {
    temporal,
    db,
    taskQueue,
    eventsPollMs,
    temporalCallMs,
    shutdown,
    eagerStart,
    idempotencyRetentionMs,
  };
  const hub = new FollowHub({ pollMs: eventsPollMs, shutdown }); // one reader per followed saga, whatever its type
  const sagas = {
    order: sagaTypeHandlers<OrderSagaInput, OrderState>('order', sagaDeps, hub),
    'transport-order': sagaTypeHandlers<TransportOrderInput, TransportOrderState>('transport-order', sagaDeps, hub),
    'order-fulfilment': sagaTypeHandlers<OrderFulfilmentInput, OrderFulfilmentState>('order-fulfilment', sagaDeps, hub),
  } satisfies Record<SagaType, unknown>;
  const handlers: Handlers = {
    ...healthHandlers({ temporal, db, shutdown }),
    ...docsHandlers(),
    ...metricsHandlers(metrics.registry),
    ...participantHandlers(collections(db)),
    ...orderHandlers(sagas.order),
    ...transportOrderHandlers({ db, saga: sagas['transport-order'] }),
    ...genericSagaHandlers(sagas),
    ...loyaltyHandlers({ temporal, db, temporalCallMs }),
    ...codecHandlers(payloadCodecs),
    ...webhookHandlers({ db, ...webhooks }),
    ...sagaConfigHandlers({ db }),
    ...codecSessionHandlers({ sessions: codecSessions(db), auth, ttlMs: codecSessionMs }),
  };
  // The codec endpoint also takes the session cookie of a browser sign-in (the Web UI cannot send a bearer header).
  const sessions = auth === 'off' ? undefined : codecSessionAuthenticator(codecSessions(db), auth);
  app.use(docsRoutes());
  // Before the 405 answers: a preflight from the Web UI's origin is answered here, any other goes on to them.
  app.use(codecCors(codecCorsOrigins));
  app.use(methodNotAllowed(operations));
  // Health, readiness and the document answer even when the API refuses new work.
  app.use(mountOperations(pick(operations, ...unguarded), handlers));
  // The codec endpoint's browser sign-in: HTML pages and a form, public (the sign-in checks the credential itself).
  for (const op of Object.values<Operation>(operations)) {
    if (op.request.bodyType !== 'form') continue;
    const text = express.text({ type: 'application/x-www-form-urlencoded', limit: bodyLimit });
    app[op.method](op.path, requireMediaType('application/x-www-form-urlencoded'), text, formFields);
  }
  app.use(mountOperations(pick(operations, ...signIn), handlers));
  // Credential and role, from each operation's `roles`, then the rate limit of that credential: before admission
  // and body parsing, so a refused request starts and writes nothing.
  const limit = rateLimit === 'off' ? undefined : rateLimitPerCredential(rateLimit); // one count for every operation
  for (const op of Object.values<Operation>(operations)) {
    if (op.roles === 'public') continue;
    if (auth !== 'off') app[op.method](op.path, authorize(auth, op.roles, op.sessionCookie ? sessions : undefined));
    if (limit) app[op.method](op.path, limit);
  }
  // Only the saga starts are counted, and before their body is read.
  const admitStart = admission(admissionOptions); // one count for every saga type
  for (const op of Object.values<Operation>(operations)) if (op.startsSaga) app[op.method](op.path, admitStart);
  app.use(requireJson);
  app.use(express.json({ limit: bodyLimit, strict: true }));
  // Every other operation of the table: validated by its schemas, answered by its handler.
  app.use(mountOperations(omit(operations, ...unguarded, ...signIn), handlers));
  app.use(unknownSagaType);
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

/** `/sagas/<a type that does not exist>/…`: a 404 that names the types there are. */
const unknownSagaType: RequestHandler = (req, _res, next) => {
  const type = /^\/sagas\/([^/]+)/.exec(req.path)?.[1];
  if (type === undefined || isSagaType(type)) return next();
  throw AppError.notFound(`No saga type ${type}: the types are ${sagaTypes.join(', ')} (GET /sagas)`);
};

/** Operations answered before admission control and body parsing. */
const unguarded = ['health', 'ready', 'openapi'] as const;
/** The codec endpoint's browser sign-in: public, and its form is not JSON. */
const signIn = ['codecSessionPage', 'codecSignIn', 'codecSignOut'] as const;

function pick<T extends object, K extends keyof T>(table: T, ...keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, table[k]])) as Pick<T, K>;
}

function omit<T extends object, K extends keyof T>(table: T, ...keys: readonly K[]): Omit<T, K> {
  return Object.fromEntries(Object.entries(table).filter(([k]) => !keys.includes(k as K))) as Omit<T, K>;
}

/**
 * The fields of a form body, by the WHATWG URLSearchParams parser: every pair kept (an empty name too, which the
 * schema then refuses, where body-parser's urlencoded would drop it), a repeated name as a list.
 */
const formFields: RequestHandler = (req, _res, next) => {
  if (typeof req.body !== 'string') return next();
  // A Map, then own properties: a field named __proto__ stays a field.
  const fields = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(req.body)) fields.set(name, [...(fields.get(name) ?? []), value]);
  req.body = Object.fromEntries([...fields].map(([name, values]) => [name, values.length === 1 ? values[0] : values]));
  next();
};

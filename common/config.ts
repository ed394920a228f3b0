import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from './definitions';
import { Role } from './roles';

/** One API key given by the environment: `name:role+role:sha256hex` (the hash of the key, never the key). */
const ConfiguredKey = z
  .string()
  .regex(
    /^[A-Za-z0-9_.-]{1,64}:(reader|writer|operator|metrics)(\+(reader|writer|operator|metrics))*:[0-9a-f]{64}$/,
    'each entry must be name:role[+role…]:sha256-hex (roles reader, writer, operator, metrics; `npm run api-key -- hash`)',
  )
  .transform((entry) => {
    const [name, roles, hash] = entry.split(':') as [string, string, string];
    return { name, roles: [...new Set(roles.split('+').map((r) => Role.parse(r)))], hash };
  });

/** Seconds, decimals allowed (tests shorten the webhook schedule to fractions of a second), in [min, max]. */
function seconds(min: number, max: number, fallback: number) {
  const message = `must be a number of seconds from ${min} to ${max}`;
  return z
    .string()
    .regex(/^[0-9]{1,7}(\.[0-9]{1,3})?$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message))
    .default(fallback);
}

/** An optional whole number in [min, max], e.g. a worker slot count. */
function workerCount(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,6}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `must be a whole number from ${min} to ${max}`)
        .max(max, `must be a whole number from ${min} to ${max}`),
    )
    .optional();
}

/** A key id of the payload key ring: it is written into every encrypted payload's metadata, so keep it short. */
const keyIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

/** The payload keys (docs/security.md): key id -> 32-byte AES-256 key; `current` encrypts new payloads. */
export interface PayloadKeyRing {
  current: string;
  keys: ReadonlyMap<string, Uint8Array>;
}

/**
 * `id:base64key,id2:base64key` (PAYLOAD_KEYS), each key 32 bytes. Throws an Error saying what is wrong, never
 * the key itself.
 */
export function parsePayloadKeys(text: string): Map<string, Uint8Array> {
  const keys = new Map<string, Uint8Array>();
  for (const entry of text.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    if (!keyIdPattern.test(id)) {
      throw new Error('each entry must be id:base64key, the id 1-64 letters, digits, ".", "_" or "-"');
    }
    const encoded = entry.slice(colon + 1);
    const key = Buffer.from(encoded, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length !== 32) {
      throw new Error(`key '${id}' must be 32 bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
    }
    if (keys.has(id)) throw new Error(`key id '${id}' is listed twice`);
    keys.set(id, new Uint8Array(key));
  }
  if (keys.size === 0) throw new Error('must list at least one id:base64key');
  return keys;
}

/** An AMQP URL the client can use: amqp(s)://, a host, a port if any in range. */
function isAmqpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'amqp:' || url.protocol === 'amqps:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** An AMQP URL fit for a log line or an error: the password replaced by `***` (the user name kept). */
export function redactedAmqpUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(an invalid URL)';
  }
}

/**
 * The one typed configuration of the service, read from the environment and validated at start.
 * A wrong value stops the process with a message that names the variable. Workflows never read it.
 */
const schema = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, 'must be host:port, e.g. localhost:7233')
    .default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .default('mongodb://127.0.0.1:27017'),
  MONGODB_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be 1-63 letters, digits, _ or -')
    .default('sagas'),
  /**
   * RabbitMQ (docs/events.md, "Broker"): amqp://user:password@host:port[/vhost] or amqps://…. Validated without ever
   * echoing the value (it carries the password); logged only as `redactedAmqpUrl` shows it.
   */
  AMQP_URL: z
    .string()
    .refine(isAmqpUrl, 'must be an amqp:// or amqps:// URL with a host, e.g. amqp://guest:guest@127.0.0.1:5672')
    .default('amqp://guest:guest@127.0.0.1:5672'),
  /** The outbox relay's wait between two scans of an empty outbox, in ms (it loops at once while there is work). */
  RELAY_POLL_MS: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a whole number of ms from 10 to 60000')
    .transform(Number)
    .pipe(z.number().min(10, 'must be at least 10 ms').max(60_000, 'must be at most 60000 ms'))
    .default(150),
  /** Outbox markers the relay reads per scan, i.e. the most events it publishes before it waits for confirms. */
  RELAY_BATCH_SIZE: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a whole number from 1 to 10000')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(10_000, 'must be at most 10000'))
    .default(500),
  /**
   * Seconds a relay that stopped renewing its lease keeps it (docs/events.md, "Broker"): a relay that dies is taken
   * over by a standby one after this long; one that stops cleanly releases it at once.
   */
  RELAY_LEASE_SECONDS: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number of seconds from 1 to 3600')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1 second').max(3600, 'must be at most 3600 seconds'))
    .default(10),
  /** Where the relay serves its Prometheus metrics (`/metrics`), host:port, e.g. 127.0.0.1:9466. Unset: none. */
  RELAY_METRICS_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9466')
    .optional(),
  /**
   * Which carrier the order saga's shipment step talks to (docs/sagas.md, "The carrier over the broker"): `in-process`
   * (the default: the worker calls the shipments participant itself) or `broker` (the worker sends commands to the
   * carrier process, bootstrap/carrier-main.ts, over RabbitMQ at AMQP_URL and waits for its replies). Read by the
   * worker and fixed per saga at its start; `npm start` also runs the carrier process with `broker`.
   */
  CARRIER: z.enum(['in-process', 'broker'], 'must be in-process or broker').default('in-process'),
  /** The durable queue the carrier process consumes its commands from (each worker's replies come back on its own). */
  CARRIER_COMMAND_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,200}$/, 'must be 1-200 letters, digits, ".", "_", ":" or "-"')
    .default('carrier.commands'),
  /**
   * How long one attempt of a carrier command waits for its reply, in seconds (the activity's start-to-close
   * timeout; also the command's TTL in the queue). Then the command is sent again, up to CARRIER_REPLY_ATTEMPTS.
   */
  CARRIER_REPLY_TIMEOUT_SECONDS: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number of seconds from 1 to 3600')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1 second').max(3600, 'must be at most 3600 seconds'))
    .default(30),
  /** Attempts of `createShipment` by command before the step counts as failed and the saga compensates. */
  CARRIER_REPLY_ATTEMPTS: z
    .string()
    .regex(/^\d{1,2}$/, 'must be a whole number from 1 to 20')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(20, 'must be at most 20'))
    .default(3),
  /**
   * Test hook of the carrier process, off unless set (never in production): `die-after-apply` makes it kill itself
   * (SIGKILL) after applying its first command and before replying, so that a test sees the command redelivered.
   */
  CARRIER_TEST_FAULT: z.enum(['die-after-apply'], 'must be die-after-apply (a test hook) or unset').optional(),
  /**
   * The order intake (docs/api.md, "Starting a saga by a message"): the durable queue it consumes `OrderPlaced` from
   * (bound to the exchange `saga.intake`, routing key `<ORDER_INTAKE_SAGA_TYPE>.OrderPlaced`); its dead-letter queue
   * is `<queue>.dlq`.
   */
  ORDER_INTAKE_QUEUE: z
    .string()
    .regex(/^(?!amq\.)[A-Za-z0-9._-]{1,200}$/, 'must be 1-200 letters, digits, ".", "_" or "-", not starting with amq.')
    .default('orders.placed'),
  /**
   * The saga an `OrderPlaced` message starts: `order` (routing key `order.OrderPlaced`) or `order-fulfilment`
   * (`order-fulfilment.OrderPlaced`), validated by that saga's input schema. One intake process per saga type,
   * each on its own ORDER_INTAKE_QUEUE.
   */
  ORDER_INTAKE_SAGA_TYPE: z.enum(['order', 'order-fulfilment']).default('order'),
  /** Messages the intake holds unacknowledged at once: the sagas it starts concurrently. */
  ORDER_INTAKE_PREFETCH: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number from 1 to 1000')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(1000, 'must be at most 1000'))
    .default(16),
  /** Where the intake serves its Prometheus metrics (`/metrics`), host:port, e.g. 127.0.0.1:9467. Unset: none. */
  ORDER_INTAKE_METRICS_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9467')
    .optional(),
  PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a port number from 0 to 65535')
    .transform(Number)
    .pipe(z.number().max(65535, 'must be a port number from 0 to 65535'))
    .default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** ISO 3166 alpha-2 codes of the countries we ship to, comma separated. */
  SERVED_COUNTRIES: z
    .string()
    .default('US,CA,GB,IE,FR,DE,NL,BE,ES,IT,SE,DK,NO,FI,PL,AT,CH,PT')
    .transform((s) =>
      s
        .split(',')
        .map((c) => c.trim().toUpperCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[A-Z]{2}$/, 'each country must be a two-letter code')).min(1)),
  /** Largest JSON body the API accepts, in bytes. */
  BODY_LIMIT: z
    .string()
    .regex(/^\d{1,8}$/, 'must be a number of bytes from 1024 to 10000000')
    .transform(Number)
    .pipe(z.number().min(1024, 'must be at least 1024 bytes').max(10_000_000, 'must be at most 10000000 bytes'))
    .default(100_000),
  /**
   * `on` (the default): every operation but health, readiness and the document needs a bearer credential with the
   * role the operation names (docs/api.md, Authentication). `off`: nothing is checked, logged as a warning at start.
   */
  API_AUTH: z.enum(['on', 'off'], 'must be on or off').default('on'),
  /**
   * API keys beside those stored in MongoDB (`npm run api-key`), comma separated, each `name:role+role:sha256hex`:
   * hashes only, so that no key sits in the environment, a process listing or a deployment manifest.
   */
  API_KEYS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
    )
    .pipe(z.array(ConfiguredKey))
    .default([]),
  /**
   * JWTs from an identity provider, beside API keys: its JWKS URL (its public signing keys), the `iss` and `aud`
   * the tokens must carry, and the claim that lists the roles. Set the first three together, or none.
   */
  API_JWT_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  API_JWT_ISSUER: z.string().min(1).optional(),
  API_JWT_AUDIENCE: z.string().min(1).optional(),
  API_JWT_ROLES_CLAIM: z.string().min(1).default('roles'),
  /** Requests one credential may make per API_RATE_LIMIT_WINDOW_SECONDS before the API answers 429. */
  API_RATE_LIMIT: z
    .string()
    .regex(/^\d{1,7}$/, 'must be a whole number of requests from 1 to 1000000')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000'))
    .default(600),
  API_RATE_LIMIT_WINDOW_SECONDS: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a whole number of seconds from 1 to 86400')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1 second').max(86_400, 'must be at most 86400 seconds'))
    .default(60),
  /**
   * Saga-starting requests (`POST /orders`, `POST /transport-orders`) the API lets be in progress at once; more
   * answer 503 with `Retry-After` at once (admission control, api/admission.ts).
   */
  API_MAX_STARTING_SAGAS: z
    .string()
    .regex(/^\d{1,6}$/, 'must be a whole number from 1 to 100000')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(100_000, 'must be at most 100000'))
    .default(64),
  /** Hours an `Idempotency-Key` is remembered; after that the key counts as new and its record is deleted. */
  IDEMPOTENCY_KEY_RETENTION_HOURS: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number of hours from 1 to 8760')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(1, 'must be a whole number of hours from 1 to 8760')
        .max(8760, 'must be a whole number of hours from 1 to 8760'),
    )
    .default(24),
  /**
   * How much the API and the worker log (pino's levels; docs/operations.md, "Logs"): `info` by default, `debug`
   * adds each activity's start and completion, `silent` nothing.
   */
  LOG_LEVEL: z
    .enum(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'must be one of fatal, error, warn, info, debug, trace, silent',
    )
    .default('info'),
  /** `json` (the default): one JSON object a line, for a log collector; `pretty`: for a terminal (`npm start`). */
  LOG_FORMAT: z.enum(['json', 'pretty'], 'must be json or pretty').default('json'),
  /** Seconds the API waits for in-flight requests after SIGTERM before it exits anyway. */
  API_SHUTDOWN_GRACE_SECONDS: z.coerce
    .number('must be a number of seconds')
    .min(0, 'must not be negative')
    .max(600, 'must be at most 600')
    .default(20),
  /** Seconds the worker lets running activities finish after SIGTERM. */
  WORKER_SHUTDOWN_GRACE_SECONDS: z.coerce
    .number('must be a number of seconds')
    .min(0, 'must not be negative')
    .max(600, 'must be at most 600')
    .default(20),
  /**
   * `true`: the API process also runs a saga worker on TASK_QUEUE, sharing one connection with its Temporal
   * client, and starts sagas eagerly (the first workflow task comes back with the start, no poll). For a small
   * deployment; separate worker processes may still poll the same queue. Default `false`.
   */
  API_EMBEDDED_WORKER: z
    .enum(['true', 'false'], 'must be true or false')
    .transform((v) => v === 'true')
    .default(false),
  /**
   * Worker sizing (docs/performance.md, "Worker slots and cache"). Each is optional; unset means the
   * default chosen by measurement on a 2-core machine (workers/sizing.ts).
   */
  WORKER_WORKFLOW_TASK_SLOTS: workerCount(2, 1000),
  WORKER_ACTIVITY_SLOTS: workerCount(1, 1000),
  WORKER_LOCAL_ACTIVITY_SLOTS: workerCount(1, 1000),
  WORKER_POLLERS: workerCount(1, 100),
  WORKER_CACHED_WORKFLOWS: workerCount(0, 100_000),
  /**
   * Where the worker serves the SDK's Prometheus metrics and the sagas' business metrics (`/metrics`), host:port,
   * e.g. 127.0.0.1:9464 (what `npm start` sets). Unset: no exporter. Also the API's embedded worker's.
   */
  WORKER_METRICS_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9464')
    .optional(),
  /**
   * Test hook, off unless set: faults the worker injects into its activities (docs/faults.md), e.g.
   * `releaseCredit:fail=3,*:rate=0.05`. Never set it in production. Kept as written here: its grammar belongs to
   * the fault-injection interceptor (workers/interceptors/fault-injection.ts), and the composition root parses it
   * at start (bootstrap/config.ts), failing with a message that names SAGA_FAULTS.
   */
  SAGA_FAULTS: z.string().optional(),
  /**
   * Test hook, off unless set: caps on the timeouts and retries of every call the sagas make (docs/failure-matrix.md),
   * e.g. `startToCloseMs=1500,retryIntervalMs=100,maximumAttempts=3`, so that a step times out or runs out of retries
   * in seconds; the presets themselves stay. Never set it in production. Parsed at start by the composition root
   * (bootstrap/config.ts, grammar in workers/interceptors/call-limits.ts), failing with a message naming it.
   */
  SAGA_CALL_LIMITS: z.string().optional(),
  /** A prebuilt workflow bundle for the worker (tests and the chaos run start many workers); unset: bundled at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /**
   * The payload key ring (docs/security.md): `id:base64key,...`, 32-byte keys. Required unless
   * PAYLOAD_ENCRYPTION=off; only ever from the environment.
   */
  PAYLOAD_KEYS: z
    .string()
    .transform((text, ctx) => {
      try {
        return parsePayloadKeys(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  /** The key id new payloads are encrypted with; may be omitted when PAYLOAD_KEYS holds one key. */
  PAYLOAD_KEY_CURRENT: z.string().regex(keyIdPattern, 'must be a key id of PAYLOAD_KEYS').optional(),
  /** `off` stores payloads in plain text (a warning at start); anything but `on`/`off` is an error. */
  PAYLOAD_ENCRYPTION: z.enum(['on', 'off'], 'must be on or off').default('on'),
  /**
   * The origins allowed to call the codec endpoint from a browser, comma separated: the Temporal Web UI's, e.g.
   * http://localhost:8233. Unset: no CORS headers at all.
   */
  CODEC_CORS_ORIGIN: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^https?:\/\/[A-Za-z0-9.[\]:-]+$/, 'each must be an origin: scheme://host[:port]')))
    .default([]),
  /** How long a browser's sign-in to the codec endpoint (`POST /codec/session`, for the Web UI) lasts. */
  CODEC_SESSION_HOURS: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number of hours from 1 to 168')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1 hour').max(168, 'must be at most 168 hours'))
    .default(8),
  /**
   * Webhooks (docs/events.md, "Webhooks"): the hosts a subscription may target, comma separated, each a host name
   * (matched exactly) or `*.example.com`. Empty (the default): no subscription can be created. Plain http only to an
   * allowlisted `localhost`/`127.0.0.1`/`[::1]`; any other name is refused at delivery if it resolves to a
   * loopback, private, link-local or otherwise non-public address.
   */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[::1\]$/,
            'each must be a host name or *.domain',
          ),
      ),
    )
    .default([]),
  /** The first retry's delay; each next one doubles, up to WEBHOOK_RETRY_MAX_DELAY_SECONDS, with jitter. */
  WEBHOOK_RETRY_BASE_SECONDS: seconds(0.01, 86_400, 30),
  WEBHOOK_RETRY_MAX_DELAY_SECONDS: seconds(0.01, 86_400, 3_600),
  /** How long after its event a delivery is still retried; then it fails and its subscription is disabled. */
  WEBHOOK_RETRY_HORIZON_SECONDS: seconds(0.1, 30 * 86_400, 86_400),
  /** Longest one attempt may take (connection, answer) before it counts as failed. */
  WEBHOOK_TIMEOUT_SECONDS: seconds(0.1, 300, 10),
  /** Failed attempts in a row (any delivery of the subscription) after which the subscription is disabled. */
  WEBHOOK_DISABLE_AFTER_FAILURES: z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be a whole number from 1 to 100000')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(100_000, 'must be at most 100000'))
    .default(20),
  /** How often the dispatcher looks for deliveries that are due. */
  WEBHOOK_POLL_SECONDS: seconds(0.05, 60, 1),
  /** The dispatcher's durable queue bound to saga.events (a test or chaos run sharing a broker takes its own). */
  WEBHOOK_QUEUE: z.string().min(1).max(255).default('saga.webhooks'),
});

type RawConfig = z.infer<typeof schema>;

/** The configuration, with the payload key ring resolved: `undefined` only when PAYLOAD_ENCRYPTION=off. */
export type Config = Omit<RawConfig, 'PAYLOAD_KEYS' | 'PAYLOAD_KEY_CURRENT'> & {
  payloadKeyRing: PayloadKeyRing | undefined;
};

function resolveKeyRing(raw: RawConfig): PayloadKeyRing | undefined {
  if (raw.PAYLOAD_ENCRYPTION === 'off') return undefined;
  const keys = raw.PAYLOAD_KEYS;
  if (!keys) {
    throw new ConfigError(
      'Invalid configuration: PAYLOAD_KEYS: required (id:base64key,...; docs/security.md), or set PAYLOAD_ENCRYPTION=off to store payloads in plain text',
    );
  }
  const current = raw.PAYLOAD_KEY_CURRENT ?? (keys.size === 1 ? [...keys.keys()][0] : undefined);
  if (current === undefined) {
    throw new ConfigError('Invalid configuration: PAYLOAD_KEY_CURRENT: required when PAYLOAD_KEYS holds several keys');
  }
  if (!keys.has(current)) {
    throw new ConfigError(`Invalid configuration: PAYLOAD_KEY_CURRENT: '${current}' is not a key id of PAYLOAD_KEYS`);
  }
  return { current, keys };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** An empty variable counts as unset, so that `PORT=` falls back to the default instead of 0. */
function presentVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
}

/** Where the participants' data is, alone: for commands that touch MongoDB and nothing else (`npm run api-key`). */
export function loadMongoConfig(env: NodeJS.ProcessEnv = process.env): Pick<Config, 'MONGODB_URI' | 'MONGODB_DB'> {
  const parsed = schema.pick({ MONGODB_URI: true, MONGODB_DB: true }).safeParse(presentVariables(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(presentVariables(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const jwt = ['API_JWT_JWKS_URL', 'API_JWT_ISSUER', 'API_JWT_AUDIENCE'] as const;
  const unset = jwt.filter((name) => parsed.data[name] === undefined);
  if (unset.length > 0 && unset.length < jwt.length) {
    throw new ConfigError(`Invalid configuration: ${unset.join(', ')}: must be set with ${jwt.join(', ')}`);
  }
  const { PAYLOAD_KEYS: _keys, PAYLOAD_KEY_CURRENT: _current, ...rest } = parsed.data;
  return { ...rest, payloadKeyRing: resolveKeyRing(parsed.data) };
}

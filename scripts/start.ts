/**
 * `npm start`: runs the whole service locally.
 *
 * - Temporal dev server persisted in .data/temporal.db (SQLite, WAL, synchronous=normal) on 127.0.0.1:7233, Web UI
 *   on 8233 (TEMPORAL_PORT, TEMPORAL_UI_PORT), search attributes registered; skipped when TEMPORAL_ADDRESS is set.
 * - FerretDB with its data in .data/ferretdb/ on 127.0.0.1:27017 (FERRETDB_PORT); skipped when MONGODB_URI is set.
 * - RabbitMQ (Debian's rabbitmq-server, as a plain process, node sagas@localhost) with its data in .data/rabbitmq/ on
 *   127.0.0.1:5672 (RABBITMQ_PORT; its distribution port RABBITMQ_DIST_PORT, 25672), the default guest account;
 *   skipped when AMQP_URL is set.
 * - The worker (bootstrap/worker-main.ts), the API (bootstrap/api-main.ts, listening on PORT, default 3000), the
 *   outbox relay (bootstrap/relay-main.ts: domain events to RabbitMQ, metrics on RELAY_METRICS_ADDRESS, 9466), the
 *   webhook dispatcher (bootstrap/webhooks-main.ts; WEBHOOK_ALLOWED_HOSTS defaults to localhost here) and the order
 *   intake (bootstrap/order-intake-main.ts: OrderPlaced messages start order sagas), run with tsx
 *   (`node --import tsx`: one process each, so SIGTERM reaches the program itself). With API_EMBEDDED_WORKER=true
 *   the API runs the worker itself and no worker process is started. With CARRIER=broker also the carrier process
 *   (bootstrap/carrier-main.ts), which the sagas reach by command and reply over RabbitMQ (docs/sagas.md).
 *
 * - Payloads encrypted (docs/security.md): unless PAYLOAD_KEYS is set (or PAYLOAD_ENCRYPTION=off), a development key
 *   ring is generated on first start into .data/payload-keys.json (mode 0600) and given to the worker and the API.
 * - The API serves the codec endpoint at /codec; the dev server's Web UI is pointed at it (--ui-codec-endpoint) and
 *   the API allows the UI's origin (CODEC_CORS_ORIGIN).
 * - Authentication: on first start a development key with every role is written to .data/dev-api-key (mode 0600)
 *   and the API accepts it (its hash is added to API_KEYS); `-H "Authorization: Bearer $(cat .data/dev-api-key)"`.
 *   Not with API_AUTH=off.
 *
 * - Logs: the worker's and the API's in this terminal, for a person (LOG_FORMAT=pretty, unless set).
 *
 * - `npm start -- --jaeger`: also Jaeger (.tools/bin/jaeger, traces in memory, lost when it stops) with its OTLP
 *   receivers on 127.0.0.1:4318 (HTTP) and 4317 (gRPC) and its query API and UI on 16686 (JAEGER_OTLP_PORT,
 *   JAEGER_OTLP_GRPC_PORT, JAEGER_UI_PORT; its query gRPC API on JAEGER_QUERY_GRPC_PORT, 16685); the worker and the API get OTEL_EXPORTER_OTLP_ENDPOINT pointing there,
 *   so they trace (docs/operations.md, "Traces"). Without it the worker and the API trace only if OTEL_* variables
 *   of your own say so.
 *
 * Ctrl-C / SIGTERM stops the API, then the worker, then the relay, then the servers; a second one (a second or more later) kills
 * everything at once. If a child exits on its own, everything is stopped and the exit code is 1.
 * Data survives restarts. Server logs: .data/logs/temporal.log, .data/logs/ferretdb.log, .data/logs/rabbitmq.log.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  ENV,
  onShutdownSignal,
  repoRoot,
  spawnManaged,
  startFerretDb,
  startJaeger,
  startRabbitMq,
  startTemporalDevServer,
  stopAll,
  tools,
  type ManagedProcess,
} from './lib/servers';
import { generateKeyRingEnv } from '../codec/data-converter';
import { devApiKey } from './lib/dev-api-key';

const log = (message: string) => process.stderr.write(`start: ${message}\n`);

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${name}=${raw} is not a port number`);
  return port;
}

/** The shutdown grace a child is configured with (its own default: 20 s). */
function graceSeconds(name: string): number {
  const value = Number(process.env[name] || 20);
  return Number.isFinite(value) && value >= 0 ? value : 20;
}

const dataRoot = path.join(repoRoot, '.data');
const devPayloadKeysFile = path.join(dataRoot, 'payload-keys.json');

/**
 * The development key ring: made once, kept in .data/ (git-ignored, mode 0600), so that the sagas of one `npm start`
 * still decrypt in the next. Production keys come only from the environment.
 */
function devKeyRing(): { PAYLOAD_KEYS: string; PAYLOAD_KEY_CURRENT: string } {
  if (!fs.existsSync(devPayloadKeysFile)) {
    fs.mkdirSync(dataRoot, { recursive: true });
    fs.writeFileSync(devPayloadKeysFile, `${JSON.stringify(generateKeyRingEnv('dev-1'), null, 2)}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    log(`generated a development payload key ring in ${path.relative(repoRoot, devPayloadKeysFile)} (mode 0600)`);
  }
  fs.chmodSync(devPayloadKeysFile, 0o600);
  return JSON.parse(fs.readFileSync(devPayloadKeysFile, 'utf8')) as {
    PAYLOAD_KEYS: string;
    PAYLOAD_KEY_CURRENT: string;
  };
}
const logDir = path.join(dataRoot, 'logs');
const devKeyFile = path.join(dataRoot, 'dev-api-key');

let shutdownRequested: (() => void) | undefined;
let signalled = false;
onShutdownSignal((signal) => {
  signalled = true;
  log(`${signal}: shutting down (again to kill at once)`);
  shutdownRequested?.();
});

/** `--jaeger`, the one option. */
function options(args: string[]): { jaeger: boolean } {
  const unknown = args.filter((arg) => arg !== '--jaeger');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(' ')} (usage: npm start [-- --jaeger])`);
  return { jaeger: args.includes('--jaeger') };
}

async function main(): Promise<number> {
  const { jaeger: withJaeger } = options(process.argv.slice(2));
  const env: NodeJS.ProcessEnv = { ...process.env };
  // everything we start: if one of them exits on its own, all is stopped
  const watched: ManagedProcess[] = [];
  const apiPort = process.env.PORT || '3000';
  // On 127.0.0.1, the Web UI's host: the codec session's cookie (SameSite=Strict) goes only to the same site.
  const codecEndpoint = `http://127.0.0.1:${apiPort}/codec`;
  if (!env.PAYLOAD_KEYS && env.PAYLOAD_ENCRYPTION !== 'off') Object.assign(env, devKeyRing());

  // --- servers ---
  let temporalAddress = process.env[ENV.temporalAddress];
  let temporalUiUrl = process.env[ENV.temporalUiUrl];
  let temporalMetricsUrl: string | undefined;
  if (!temporalAddress) {
    const dbFile = path.join(dataRoot, 'temporal.db');
    const logFile = path.join(logDir, 'temporal.log');
    log(
      `starting Temporal dev server ${tools.temporal} (state in ${path.relative(repoRoot, dbFile)}, log ${path.relative(repoRoot, logFile)})`,
    );
    const temporal = await startTemporalDevServer({
      port: portFromEnv('TEMPORAL_PORT', 7233),
      uiPort: portFromEnv('TEMPORAL_UI_PORT', 8233),
      dbFile,
      logFile,
      uiCodecEndpoint: codecEndpoint,
      metricsPort: portFromEnv('TEMPORAL_METRICS_PORT', 9465),
    });
    temporalMetricsUrl = `http://127.0.0.1:${portFromEnv('TEMPORAL_METRICS_PORT', 9465)}/metrics`;
    temporalAddress = temporal.address;
    temporalUiUrl = temporal.uiUrl;
    watched.push(temporal.process);
  }
  if (signalled) return 0;

  let mongodbUri = process.env[ENV.mongodbUri];
  if (!mongodbUri) {
    const dataDir = path.join(dataRoot, 'ferretdb');
    const logFile = path.join(logDir, 'ferretdb.log');
    log(`starting FerretDB (data in ${path.relative(repoRoot, dataDir)}/, log ${path.relative(repoRoot, logFile)})`);
    const ferret = await startFerretDb({ port: portFromEnv('FERRETDB_PORT', 27017), dataDir, logFile });
    mongodbUri = ferret.uri;
    watched.push(ferret.process);
  }
  if (signalled) return 0;

  let amqpUrl = process.env[ENV.amqpUrl];
  if (!amqpUrl) {
    const dataDir = path.join(dataRoot, 'rabbitmq');
    const logFile = path.join(logDir, 'rabbitmq.log');
    log(`starting RabbitMQ (data in ${path.relative(repoRoot, dataDir)}/, log ${path.relative(repoRoot, logFile)})`);
    const rabbit = await startRabbitMq({
      port: portFromEnv('RABBITMQ_PORT', 5672),
      distPort: portFromEnv('RABBITMQ_DIST_PORT', 25672),
      nodeName: 'sagas',
      dataDir,
      logFile,
    });
    amqpUrl = rabbit.url;
    watched.push(rabbit.process);
  }
  if (signalled) return 0;

  let jaegerUiUrl: string | undefined;
  if (withJaeger) {
    const dir = path.join(dataRoot, 'jaeger');
    const logFile = path.join(logDir, 'jaeger.log');
    log(`starting Jaeger ${tools.jaeger} (traces in memory, log ${path.relative(repoRoot, logFile)})`);
    const jaeger = await startJaeger({
      otlpHttpPort: portFromEnv('JAEGER_OTLP_PORT', 4318),
      otlpGrpcPort: portFromEnv('JAEGER_OTLP_GRPC_PORT', 4317),
      queryPort: portFromEnv('JAEGER_UI_PORT', 16686),
      queryGrpcPort: portFromEnv('JAEGER_QUERY_GRPC_PORT', 16685),
      dir,
      logFile,
    });
    watched.push(jaeger.process);
    jaegerUiUrl = jaeger.queryUrl;
    if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
      log("--jaeger: the OTLP endpoint you set is replaced by Jaeger's for the worker and the API");
    }
    delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    delete env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL;
    env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpEndpoint;
    env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
  }
  if (signalled) return 0;

  env[ENV.temporalAddress] = temporalAddress;
  env[ENV.mongodbUri] = mongodbUri;
  env[ENV.amqpUrl] = amqpUrl;
  env[ENV.mongodbDb] = process.env[ENV.mongodbDb] || 'sagas';
  if (temporalUiUrl) env[ENV.temporalUiUrl] = temporalUiUrl;
  // The Web UI calls the codec endpoint from the browser: allow its origin, as localhost and as 127.0.0.1.
  if (!env.CODEC_CORS_ORIGIN && temporalUiUrl) {
    const ui = new URL(temporalUiUrl);
    env.CODEC_CORS_ORIGIN = [ui.origin, `${ui.protocol}//localhost:${ui.port}`].join(',');
  }
  env[ENV.temporalCli] = tools.temporal;
  // Logs for a terminal (docs/operations.md, "Logs"); LOG_FORMAT=json gives the JSON lines production writes.
  if (env.LOG_FORMAT === undefined) env.LOG_FORMAT = 'pretty';
  // Webhooks may target a receiver on this machine (plain http to localhost), unless WEBHOOK_ALLOWED_HOSTS says else.
  if (env.WEBHOOK_ALLOWED_HOSTS === undefined) env.WEBHOOK_ALLOWED_HOSTS = 'localhost';
  // The SDK's and the sagas' metrics, from the worker (or the API's embedded one); WORKER_METRICS_ADDRESS= turns off.
  if (env.WORKER_METRICS_ADDRESS === undefined) env.WORKER_METRICS_ADDRESS = '127.0.0.1:9464';
  if (env.RELAY_METRICS_ADDRESS === undefined) env.RELAY_METRICS_ADDRESS = '127.0.0.1:9466';
  if (env.ORDER_INTAKE_METRICS_ADDRESS === undefined) env.ORDER_INTAKE_METRICS_ADDRESS = '127.0.0.1:9467';
  const authOff = process.env.API_AUTH === 'off';
  if (!authOff) {
    const dev = devApiKey(devKeyFile);
    if (dev.created)
      log(`created a development API key with every role: ${path.relative(repoRoot, devKeyFile)} (0600)`);
    env.API_KEYS = [process.env.API_KEYS, dev.entry].filter(Boolean).join(',');
  }

  // --- our processes ---
  // API_EMBEDDED_WORKER=true: the API runs the worker itself (and starts sagas eagerly); no worker process.
  const embedded = process.env.API_EMBEDDED_WORKER === 'true';
  // CARRIER=broker: the carrier runs as its own process, reached over RabbitMQ (docs/sagas.md).
  const carrierProcess = process.env.CARRIER === 'broker';
  const entries = [
    ...(carrierProcess ? ([['carrier', 'bootstrap/carrier-main.ts']] as const) : []),
    ...(embedded ? [] : ([['worker', 'bootstrap/worker-main.ts']] as const)),
    ['api', 'bootstrap/api-main.ts'],
    // The outbox relay: the sagas' domain events to RabbitMQ (docs/events.md, "Broker").
    ['relay', 'bootstrap/relay-main.ts'],
    ['webhooks', 'bootstrap/webhooks-main.ts'],
    ['order-intake', 'bootstrap/order-intake-main.ts'],
  ] as const;
  const children = new Map<string, ManagedProcess>();
  for (const [name, file] of entries) {
    if (!fs.existsSync(path.join(repoRoot, file))) throw new Error(`${file} does not exist`);
    const grace =
      name === 'worker'
        ? graceSeconds('WORKER_SHUTDOWN_GRACE_SECONDS')
        : graceSeconds('API_SHUTDOWN_GRACE_SECONDS') + (embedded ? graceSeconds('WORKER_SHUTDOWN_GRACE_SECONDS') : 0);
    children.set(
      name,
      spawnManaged(name, process.execPath, ['--import', 'tsx', file], {
        env,
        // after SIGTERM the API drains requests, the worker lets running activities finish: give them that time
        stopTimeoutMs: (grace + 15) * 1000,
      }),
    );
  }
  const api = children.get('api')!;
  const worker = children.get('worker');
  const carrier = children.get('carrier');
  const relay = children.get('relay')!;
  const webhooks = children.get('webhooks')!;
  const intake = children.get('order-intake')!;
  watched.push(...children.values());

  log('running:');
  log(`  API                  http://localhost:${apiPort}${embedded ? ' (with the worker embedded)' : ''}`);
  log(`  Temporal Web UI      ${temporalUiUrl ?? '(unknown: set TEMPORAL_UI_URL)'}`);
  log(`  Temporal gRPC        ${temporalAddress}`);
  log(`  codec endpoint       ${codecEndpoint} (the Web UI decodes payloads through it)`);
  if (!authOff) {
    log(
      `  Web UI decoding      sign in at ${codecEndpoint}/session with the API key, then in the Web UI's Codec Server settings use the browser setting, ${codecEndpoint}, "Include cross-origin credentials" (docs/security.md)`,
    );
  }
  log(
    `  payloads             ${env.PAYLOAD_ENCRYPTION === 'off' ? 'NOT encrypted (PAYLOAD_ENCRYPTION=off)' : process.env.PAYLOAD_KEYS ? 'encrypted, keys from PAYLOAD_KEYS' : `encrypted, development keys in ${path.relative(repoRoot, devPayloadKeysFile)}`}`,
  );
  if (carrierProcess) log(`  carrier              its own process, by command over RabbitMQ (CARRIER=broker)`);
  log(`  MongoDB              ${mongodbUri} (database ${env[ENV.mongodbDb]})`);
  log(
    `  webhooks             dispatcher running; targets allowed: ${env.WEBHOOK_ALLOWED_HOSTS || '(none)'} (WEBHOOK_ALLOWED_HOSTS)`,
  );
  log(
    `  RabbitMQ             ${process.env[ENV.amqpUrl] ? 'AMQP_URL (yours)' : amqpUrl} (exchange saga.events, docs/events.md#broker)`,
  );
  log(
    `  order intake         OrderPlaced on exchange saga.intake, key order.OrderPlaced -> queue ${env.ORDER_INTAKE_QUEUE || 'orders.placed'} (npm run publish-order; docs/api.md)`,
  );
  log(
    `  metrics              API http://localhost:${apiPort}/metrics (role metrics)` +
      (env.WORKER_METRICS_ADDRESS ? `, worker http://${env.WORKER_METRICS_ADDRESS}/metrics` : '') +
      (env.RELAY_METRICS_ADDRESS ? `, relay http://${env.RELAY_METRICS_ADDRESS}/metrics` : '') +
      (env.ORDER_INTAKE_METRICS_ADDRESS ? `, order intake http://${env.ORDER_INTAKE_METRICS_ADDRESS}/metrics` : '') +
      (temporalMetricsUrl ? `, Temporal ${temporalMetricsUrl}` : '') +
      ' (docs/operations.md)',
  );
  if (jaegerUiUrl) {
    log(
      `  traces               Jaeger UI ${jaegerUiUrl.replace('127.0.0.1', 'localhost')} (a placeholder page when built from source: see docs/operations.md), a trace by id: ${jaegerUiUrl}/api/traces/<trace id of an answer's traceparent>`,
    );
  } else if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_TRACES_EXPORTER) {
    log('  traces               as your OTEL_* variables say (docs/operations.md)');
  } else {
    log('  traces               off (npm start -- --jaeger to see them)');
  }
  log(
    authOff
      ? '  API authentication   OFF (API_AUTH=off)'
      : `  API key              ${path.relative(repoRoot, devKeyFile)}: curl -H "Authorization: Bearer $(cat ${path.relative(repoRoot, devKeyFile)})" …`,
  );
  log('Ctrl-C to stop');

  // --- wait for a signal or for a child to exit ---
  const unexpected = await new Promise<ManagedProcess | undefined>((resolve) => {
    shutdownRequested = () => resolve(undefined);
    for (const proc of watched) {
      void proc.exited.then(() => {
        if (!proc.isStopping()) resolve(proc);
      });
    }
  });
  shutdownRequested = undefined;
  if (unexpected) {
    const info = await unexpected.exited;
    log(`${unexpected.name} exited unexpectedly (code ${info.code}, signal ${info.signal}): stopping everything`);
  }

  log('stopping order intake');
  await intake.stop(); // first: no new sagas while the rest stops
  log('stopping API');
  await api.stop();
  log('stopping webhook dispatcher');
  await webhooks.stop();
  if (worker) {
    log('stopping worker');
    await worker.stop();
  }
  if (carrier) {
    log('stopping carrier');
    await carrier.stop();
  }
  log('stopping relay');
  await relay.stop();
  log('stopping servers');
  await stopAll();
  log('stopped');
  return unexpected ? 1 : 0;
}

async function run(): Promise<never> {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  await stopAll(); // no-op after a normal shutdown; stops what was started when startup failed or was interrupted
  process.exit(code);
}

void run();

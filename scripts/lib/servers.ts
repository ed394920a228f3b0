/**
 * The local servers: the Temporal dev server, FerretDB, Jaeger and RabbitMQ, each started on 127.0.0.1 as a managed child
 * process (processes.ts) with its output in a log file, and resolved once it really serves.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import amqplib from 'amqplib';
import execa from 'execa';
import getPort from 'get-port';
import { MongoClient } from 'mongodb';
import { searchAttributeDefinitions } from '../../common/search-attributes';
import { spawnManaged, waitForProcess, type ManagedProcess } from './processes';
import { requireTool, tools } from './tools';
import { sleep } from './wait';

export { ENV, repoRoot, tools } from './tools';
export { killAllNow, onShutdownSignal, spawnManaged, stopAll, type ManagedProcess } from './processes';

const host = '127.0.0.1';

/** Where `freePort` looks: below the kernel's ephemeral range (32768–60999 by default). */
const OWN_PORTS = { from: 20_000, to: 32_767 } as const;

function* ownPorts(): Generator<number> {
  const span = OWN_PORTS.to - OWN_PORTS.from + 1;
  const first = Math.floor(Math.random() * span); // runs side by side start in different places
  for (let i = 0; i < span; i++) yield OWN_PORTS.from + ((first + i) % span);
}

/**
 * A free TCP port (never the same one twice within 15 s in this process), below the ephemeral range: a port from
 * that range could be free now and taken a moment later by a server that binds port 0 for its own use (the Temporal
 * dev server's internal services start while RabbitMQ and FerretDB start), and ours would then fail to bind.
 */
export const freePort = (): Promise<number> => getPort({ port: ownPorts() });

/**
 * Fails clearly when the port is taken: otherwise the readiness check could find another server answering there
 * while ours fails to bind.
 */
async function assertPortFree(port: number, what: string): Promise<void> {
  const server = net.createServer().unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`${what}: port ${host}:${port} is already in use (another instance running?)`)
          : err,
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** Without the user's TEMPORAL_* settings (address, TLS, API key, profile...), which are not for our server. */
function withoutTemporalSettings(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')));
}

/** A server started here; `restart` stops it, waits, and starts it again with the same options (same port, data). */
export interface Server {
  process: ManagedProcess;
  stop(): Promise<void>;
  restart(downtimeMs: number): Promise<void>;
}

/** Runs `start` once and gives its result `stop` and `restart` (which runs `start` again). */
async function restartable<S extends Server>(start: () => Promise<Omit<S, 'restart' | 'stop'>>): Promise<S> {
  const server = { ...(await start()) } as S;
  server.stop = async () => {
    await server.process.stop();
  };
  server.restart = async (downtimeMs) => {
    await server.stop();
    await sleep(downtimeMs);
    server.process = (await start()).process;
  };
  return server;
}

// ---------------------------------------------------------------------------------------------------------------
// Temporal dev server
// ---------------------------------------------------------------------------------------------------------------

export interface TemporalDevServerOptions {
  /** Frontend gRPC port. */
  port: number;
  /** Web UI port. */
  uiPort: number;
  /** SQLite file to persist to. Omitted: in memory, lost on stop. */
  dbFile?: string;
  /** With dbFile: WAL and synchronous=normal (default, what `npm start` uses), or SQLite's own defaults. */
  sqlite?: 'wal' | 'default';
  /** `--ui-codec-endpoint`: the codec server the Web UI decodes payloads through (the API's `/codec`). */
  uiCodecEndpoint?: string;
  /** `--metrics-port`: the server's own Prometheus metrics on http://127.0.0.1:<port>/metrics. Omitted: off. */
  metricsPort?: number;
  /** `--dynamic-config-value key=value` settings, after DEV_SERVER_DYNAMIC_CONFIG (a later value of a key wins). */
  dynamicConfig?: string[];
  /** Leave DEV_SERVER_DYNAMIC_CONFIG out: the server's own defaults (the dispatch probe's baseline). */
  serverDefaults?: boolean;
  /** stdout and stderr of the server. */
  logFile: string;
  /** Truncate logFile instead of appending (the first start only: a restart appends). */
  truncateLog?: boolean;
  /** Give up waiting for readiness after this many ms (default 60 s). */
  readyTimeoutMs?: number;
}

export interface TemporalDevServer extends Server {
  /** host:port of the frontend gRPC service, for TEMPORAL_ADDRESS. */
  address: string;
  /** http://127.0.0.1:<uiPort> */
  uiUrl: string;
}

/**
 * Dynamic config of every dev server we start (`npm start`, the tests, the benchmark).
 *
 * `history.transferProcessorMaxPollRPS` (default 20) caps how often one history shard's transfer queue reads its
 * new tasks from the database (service/history/queues/reader.go, `loadAndSubmitTasks` waits on that rate limiter,
 * one token per read). Every workflow task (after a start, a completed activity or a signal) is a transfer task
 * that history must read before it pushes it to matching. The dev server has one shard, so all of its workflow
 * tasks share 20 reads/s: once more than 20 are wanted per second (one saga at a time on a quiet machine already
 * does), each waits for the next token, 0–50 ms, between WorkflowTaskScheduled and WorkflowTaskStarted. A cluster
 * with hundreds of shards has 20 reads/s per shard; 1000 on our one shard removes the wait (docs/performance.md,
 * "The dispatch wait"; measured with bench/dispatch-probe.ts).
 */
export const DEV_SERVER_DYNAMIC_CONFIG: readonly string[] = ['history.transferProcessorMaxPollRPS=1000'];

type IndexedValueTypeName = keyof typeof proto.api.enums.v1.IndexedValueType;

/** Our search attributes (the one definition the workflows and the API use), with the server's name of each type. */
export const searchAttributes = searchAttributeDefinitions.map(({ name, type }) => {
  const typeName = `INDEXED_VALUE_TYPE_${type.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase()}`;
  return { name, type, indexed: proto.api.enums.v1.IndexedValueType[typeName as IndexedValueTypeName] };
});

/** `temporal server start-dev`; resolves once the frontend answers and our search attributes are registered. */
export function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  requireTool(tools.temporal, 'temporal CLI');
  const { port, uiPort, dbFile, logFile } = options;
  const address = `${host}:${port}`;
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--ui-port', String(uiPort)];
  // the newsfeed is fetched from the internet by the browser; nothing to see offline
  args.push('--namespace', 'default', '--log-level', 'warn', '--ui-disable-news-fetch');
  for (const { name, type } of searchAttributes) args.push('--search-attribute', `${name}=${type}`);
  const dynamicConfig = [
    ...(options.serverDefaults ? [] : DEV_SERVER_DYNAMIC_CONFIG),
    ...(options.dynamicConfig ?? []),
  ];
  for (const setting of dynamicConfig) args.push('--dynamic-config-value', setting);
  if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (options.metricsPort !== undefined) args.push('--metrics-port', String(options.metricsPort));
  if (dbFile) {
    fs.mkdirSync(path.dirname(dbFile), { recursive: true });
    args.push('--db-filename', dbFile);
    // ~10x faster than SQLite's defaults; a power loss may lose the last transactions, a process crash does not
    if (options.sqlite !== 'default') {
      args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
    }
  }
  let truncateLog = options.truncateLog;
  return restartable<TemporalDevServer>(async () => {
    await assertPortFree(port, 'Temporal dev server gRPC');
    await assertPortFree(uiPort, 'Temporal Web UI');
    if (options.metricsPort !== undefined) await assertPortFree(options.metricsPort, 'Temporal dev server metrics');
    const proc = spawnManaged('temporal dev server', tools.temporal, args, {
      logFile,
      truncateLog,
      env: withoutTemporalSettings(),
    });
    truncateLog = false;
    const ready = async (): Promise<true | string> => {
      const connection = await Connection.connect({ address, connectTimeout: 1000 }).catch(() => undefined);
      if (!connection) return `no connection to ${address} yet`;
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        const missing = searchAttributes.filter((sa) => customAttributes?.[sa.name] !== sa.indexed);
        return missing.length === 0 || `search attributes not registered yet: ${missing.map((sa) => sa.name).join()}`;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      } finally {
        await connection.close();
      }
    };
    await waitForProcess(proc, `serves on ${address} with its search attributes`, ready, options.readyTimeoutMs);
    return { address, uiUrl: `http://${host}:${uiPort}`, process: proc };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// FerretDB
// ---------------------------------------------------------------------------------------------------------------

export interface FerretDbOptions {
  /** MongoDB wire protocol port. */
  port: number;
  /** Folder for the SQLite files (one per database); created if missing. */
  dataDir: string;
  /** stdout and stderr of the server. */
  logFile: string;
  /** Truncate logFile instead of appending (the first start only: a restart appends). */
  truncateLog?: boolean;
  /** Give up waiting for readiness after this many ms (default 30 s). */
  readyTimeoutMs?: number;
}

export interface FerretDb extends Server {
  /** mongodb://127.0.0.1:<port>/ for MONGODB_URI. */
  uri: string;
}

/** FerretDB (SQLite backend); resolves once it answers a MongoDB `ping`. */
export function startFerretDb(options: FerretDbOptions): Promise<FerretDb> {
  requireTool(tools.ferretdb, 'ferretdb');
  const { port, logFile } = options;
  const dataDir = path.resolve(options.dataDir);
  const uri = `mongodb://${host}:${port}/`;
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${dataDir}/`, // a directory URI: must end with '/'
    `--listen-addr=${host}:${port}`,
    '--debug-addr=-', // no debug/metrics listener (its default port would be shared by two instances)
    `--state-dir=${dataDir}`, // state.json, which would otherwise go into the cwd
    '--telemetry=disable',
    '--log-level=warn',
  ];
  let truncateLog = options.truncateLog;
  return restartable<FerretDb>(async () => {
    fs.mkdirSync(dataDir, { recursive: true });
    await assertPortFree(port, 'FerretDB');
    const proc = spawnManaged('ferretdb', tools.ferretdb, args, { logFile, truncateLog, cwd: dataDir });
    truncateLog = false;
    const ready = async (): Promise<true | string> => {
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
      try {
        return (await client.db('admin').command({ ping: 1 })).ok === 1 || 'ping not ok';
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      } finally {
        await client.close();
      }
    };
    await waitForProcess(proc, `answers ping on ${uri}`, ready, options.readyTimeoutMs ?? 30_000);
    return { uri, process: proc };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Jaeger
// ---------------------------------------------------------------------------------------------------------------

export interface JaegerOptions {
  /** OTLP over HTTP (spans at /v1/traces): OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:<port>. */
  otlpHttpPort: number;
  /** OTLP over gRPC. */
  otlpGrpcPort: number;
  /** The query API (`/api/traces/<id>`, `/api/v3/…`) and the UI. */
  queryPort: number;
  /** The query service's gRPC API (unused here, but it listens). */
  queryGrpcPort: number;
  /** Folder for its configuration file (written there). */
  dir: string;
  /** stdout and stderr of the server. */
  logFile: string;
  /** Truncate logFile instead of appending (the first start only: a restart appends). */
  truncateLog?: boolean;
  /** Traces kept in memory, the oldest dropped first (default 100 000). */
  maxTraces?: number;
  /** Give up waiting for readiness after this many ms (default 30 s). */
  readyTimeoutMs?: number;
}

export interface Jaeger extends Server {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP, the SDK's default protocol). */
  otlpEndpoint: string;
  /** host:port of the OTLP/gRPC receiver. */
  otlpGrpcAddress: string;
  /** http://127.0.0.1:<queryPort>: the query API and the UI. */
  queryUrl: string;
}

/**
 * The configuration of Jaeger v2 (an OpenTelemetry Collector build) as all-in-one: the OTLP receiver, traces kept in
 * memory (lost when it stops), the query API and UI; every listener on 127.0.0.1 on the given ports, and its own
 * metrics and traces off (the metrics would listen on 8888, shared by every instance). YAML is a superset of JSON.
 */
export function jaegerConfig(options: Omit<JaegerOptions, 'dir' | 'logFile'>): string {
  const at = (port: number) => ({ endpoint: `${host}:${port}` });
  return JSON.stringify(
    {
      service: {
        extensions: ['jaeger_storage', 'jaeger_query'],
        pipelines: {
          traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] },
        },
        telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
      },
      extensions: {
        jaeger_storage: { backends: { memstore: { memory: { max_traces: options.maxTraces ?? 100_000 } } } },
        jaeger_query: {
          storage: { traces: 'memstore' },
          // Its own traces would go to localhost:4317 (its default), then wait for it at every stop.
          enable_tracing: false,
          http: at(options.queryPort),
          grpc: at(options.queryGrpcPort),
        },
      },
      receivers: { otlp: { protocols: { grpc: at(options.otlpGrpcPort), http: at(options.otlpHttpPort) } } },
      processors: { batch: { timeout: '200ms' } },
      exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
    },
    null,
    2,
  );
}

/** Jaeger v2 with in-memory storage; resolves once its query API answers and its OTLP/HTTP receiver accepts. */
export function startJaeger(options: JaegerOptions): Promise<Jaeger> {
  requireTool(tools.jaeger, 'jaeger');
  const { otlpHttpPort, otlpGrpcPort, queryPort, queryGrpcPort, logFile } = options;
  const configFile = path.join(path.resolve(options.dir), 'jaeger.yaml');
  const queryUrl = `http://${host}:${queryPort}`;
  const otlpEndpoint = `http://${host}:${otlpHttpPort}`;
  let truncateLog = options.truncateLog;
  return restartable<Jaeger>(async () => {
    fs.mkdirSync(path.dirname(configFile), { recursive: true });
    fs.writeFileSync(configFile, jaegerConfig(options));
    for (const [port, what] of [
      [otlpHttpPort, 'Jaeger OTLP/HTTP'],
      [otlpGrpcPort, 'Jaeger OTLP/gRPC'],
      [queryPort, 'Jaeger query'],
      [queryGrpcPort, 'Jaeger query gRPC'],
    ] as const) {
      await assertPortFree(port, what);
    }
    const proc = spawnManaged('jaeger', tools.jaeger, ['--config', `file:${configFile}`], { logFile, truncateLog });
    truncateLog = false;
    const ready = async (): Promise<true | string> => {
      try {
        const res = await fetch(`${queryUrl}/api/services`);
        if (!res.ok) return `query API answered ${res.status}`;
        // An empty OTLP/HTTP request: a 4xx or 2xx means the receiver is up.
        const otlp = await fetch(`${otlpEndpoint}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        return otlp.status < 500 || `OTLP receiver answered ${otlp.status}`;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    };
    await waitForProcess(proc, `serves its query API on ${queryUrl}`, ready, options.readyTimeoutMs ?? 30_000);
    return { otlpEndpoint, otlpGrpcAddress: `${host}:${otlpGrpcPort}`, queryUrl, process: proc };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// RabbitMQ
// ---------------------------------------------------------------------------------------------------------------

export interface RabbitMqOptions {
  /** AMQP port (5672 is RabbitMQ's default). */
  port: number;
  /** Erlang distribution port (what rabbitmqctl talks to); RabbitMQ's default is port + 20000. */
  distPort: number;
  /** Folder for its database (mnesia), its own logs, its configuration files and its HOME (the Erlang cookie). */
  dataDir: string;
  /** stdout and stderr of the server. */
  logFile: string;
  /** Erlang node name, `name@localhost`: unique per running node on this machine (default `sagas-<port>`). */
  nodeName?: string;
  /** Truncate logFile instead of appending (the first start only: a restart appends). */
  truncateLog?: boolean;
  /** Give up waiting for readiness after this many ms (default 90 s: it takes about 6 s on an idle machine). */
  readyTimeoutMs?: number;
}

export interface RabbitMq extends Server {
  /** amqp://guest:guest@127.0.0.1:<port> for AMQP_URL (the default account, which RabbitMQ allows from loopback only). */
  url: string;
  /** `name@localhost`, for rabbitmqctl -n. */
  node: string;
  /** Runs `rabbitmqctl -n <node> <args…>` with the node's HOME (its Erlang cookie); resolves to its stdout. */
  ctl(...args: string[]): Promise<string>;
}

/**
 * RabbitMQ from Debian's package as a plain process with its own data directory (field notes: /usr/lib/rabbitmq/bin,
 * not /usr/sbin's wrapper, which switches user), listening on 127.0.0.1 only; resolves once an AMQP connection
 * succeeds. `stop` asks the node to stop (`rabbitmqctl stop`: it closes its queues' files cleanly), then waits for
 * the process, which is killed if it lingers. Its `epmd` daemon (port 4369) stays running, shared by every node.
 */
export function startRabbitMq(options: RabbitMqOptions): Promise<RabbitMq> {
  requireTool(tools.rabbitmqServer, 'rabbitmq-server (Debian package rabbitmq-server)');
  const { port, distPort, logFile } = options;
  const dataDir = path.resolve(options.dataDir);
  const node = `${options.nodeName ?? `sagas-${port}`}@localhost`;
  const url = `amqp://guest:guest@${host}:${port}`;
  const configFile = path.join(dataDir, 'rabbitmq.conf');
  const pluginsFile = path.join(dataDir, 'enabled_plugins');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dataDir, // the Erlang cookie, shared with rabbitmqctl below
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: host,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dataDir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dataDir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile,
    RABBITMQ_CONFIG_FILE: configFile,
    // Not the package's /etc/rabbitmq/rabbitmq-env.conf: everything is set here.
    RABBITMQ_CONF_ENV_FILE: path.join(dataDir, 'rabbitmq-env.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dataDir, 'advanced.config'),
  };
  delete env.AMQP_URL;
  const ctl = async (...args: string[]): Promise<string> =>
    (await execa(tools.rabbitmqctl, ['-n', node, ...args], { env, extendEnv: false, timeout: 60_000 })).stdout;
  let truncateLog = options.truncateLog;
  return restartable<RabbitMq>(async () => {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(pluginsFile, '[].\n');
    // The log goes to its file under RABBITMQ_LOG_BASE and to stdout (our log file); the disk alarm stays at its
    // default (50 MB free).
    fs.writeFileSync(configFile, ['log.console = true', 'log.console.level = warning', ''].join('\n'));
    await assertPortFree(port, 'RabbitMQ AMQP');
    await assertPortFree(distPort, 'RabbitMQ distribution');
    const proc = spawnManaged('rabbitmq', tools.rabbitmqServer, [], { logFile, truncateLog, env, cwd: dataDir });
    truncateLog = false;
    const ready = async (): Promise<true | string> => {
      try {
        const connection = await amqplib.connect(url, { timeout: 2000 });
        await connection.close();
        return true;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    };
    await waitForProcess(proc, `accepts AMQP on ${url}`, ready, options.readyTimeoutMs ?? 90_000);
    return { url, node, ctl, process: proc };
  }).then((server) => {
    server.stop = async () => {
      if (!server.process.hasExited()) {
        // A node that does not answer (hung, or already stopping) is stopped by its process: SIGTERM, then SIGKILL.
        await ctl('stop').catch(() => undefined);
      }
      await server.process.stop(30_000);
    };
    return server;
  });
}

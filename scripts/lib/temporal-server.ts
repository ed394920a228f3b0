/**
 * The Temporal server itself (`go.temporal.io/server` cmd/server, the version docker-compose.yml's image runs), as
 * docker-compose.yml deploys it but without Docker: PostgreSQL from the distribution (postgres.ts) with Temporal's
 * two databases set up by its SQL tool (`temporal-sql-tool`, the admin-tools image's job), several history shards,
 * then the `default` namespace and our search attributes (compose/temporal/setup-namespace.sh's job) through the
 * frontend's own API. scripts/setup.sh builds both binaries and copies the schema files into .tools/.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import getPort from 'get-port';
import { startPostgres, type Postgres } from './postgres';
import { spawnManaged, waitForProcess, type ManagedProcess } from './processes';
import { freePort, searchAttributes } from './servers';
import { repoRoot, requireTool } from './tools';
import { sleep } from './wait';

const run = promisify(execFile);
const host = '127.0.0.1';

/** Keep in step with TEMPORAL_SERVER_VERSION in scripts/setup.sh and the image tags in docker-compose.yml. */
export const TEMPORAL_SERVER_VERSION = 'v1.31.0';
const home = path.join(repoRoot, '.tools', 'temporal-server', TEMPORAL_SERVER_VERSION);
export const temporalServerTools = {
  server: path.join(home, 'bin', 'temporal-server'),
  sqlTool: path.join(home, 'bin', 'temporal-sql-tool'),
  /** schema/postgresql/v12 of the module */
  schema: path.join(home, 'schema', 'postgresql', 'v12'),
};

/** The server's dynamic config, shipped beside docker-compose.yml's (what is set there and why: its comments). */
export const TEMPORAL_SERVER_DYNAMIC_CONFIG = path.join(
  repoRoot,
  'compose',
  'temporal',
  'dynamicconfig',
  'production-sql.yaml',
);

export interface TemporalServerOptions {
  /** Data directory: PostgreSQL's cluster (pgdata/), the server's config, the logs. Reused when it exists. */
  dir: string;
  /** Frontend gRPC port. */
  port: number;
  /** PostgreSQL's port (default: a free one). */
  postgresPort?: number;
  /** History shards; fixed when the databases are first set up (default 4, as the server's docker image). */
  shards?: number;
  /** The server's Prometheus metrics on http://127.0.0.1:<port>/metrics. Omitted: off. */
  metricsPort?: number;
  /** Give up waiting for readiness after this many ms (default 120 s). */
  readyTimeoutMs?: number;
}

export interface TemporalServer {
  /** host:port of the frontend, for TEMPORAL_ADDRESS. */
  address: string;
  process: ManagedProcess;
  postgres: Postgres;
  /** Stops the server, then PostgreSQL. */
  stop(): Promise<void>;
}

const databases = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

/**
 * Creates Temporal's two databases with their schemas, or brings existing ones up to date. Each step is safe to
 * run again (temporal-sql-tool v1.31.0, tools/sql/handler.go and tools/common/schema/setuptask.go): `create` ignores
 * an existing database, `setup-schema -v 0.0` leaves a database whose schema version is above 0.0 as it is, and
 * `update-schema` applies only the versions after the database's own.
 */
async function setUpSchemas(pg: Postgres, log: (line: string) => void): Promise<void> {
  const sqlTool = (db: string, ...args: string[]) =>
    run(
      temporalServerTools.sqlTool,
      ['--plugin', 'postgres12', '--ep', pg.host, '-p', String(pg.port), '-u', pg.user, '--db', db, ...args],
      { env: { PATH: process.env.PATH ?? '' } },
    );
  for (const { name, schema } of databases) {
    await sqlTool(name, 'create');
    await sqlTool(name, 'setup-schema', '-v', '0.0');
    await sqlTool(name, 'update-schema', '-d', path.join(temporalServerTools.schema, schema, 'versioned'));
    log(`database ${name}: schema up to date`);
  }
}

/**
 * A free port for a service's membership (ringpop) listener: below 32768, because the server stores it in a
 * `smallint` column (cluster_membership.rpc_port), and the ephemeral ports freePort gives are above.
 */
function membershipPort(): Promise<number> {
  const from = 20000 + Math.floor(Math.random() * 12000);
  return getPort({ port: getPort.makeRange(from, Math.min(from + 700, 32767)) });
}

/** The server's static config (JSON is YAML): every service in one process on 127.0.0.1, PostgreSQL, no archival. */
async function serverConfig(pg: Postgres, options: TemporalServerOptions) {
  const sql = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = async (grpcPort?: number) => ({
    rpc: { grpcPort: grpcPort ?? (await freePort()), membershipPort: await membershipPort(), bindOnIP: host },
  });
  const httpPort = await freePort();
  const frontend = { rpc: { ...(await service(options.port)).rpc, httpPort } };
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: options.shards ?? 4,
      datastores: { default: sql('temporal', 20), visibility: sql('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: host },
      ...(options.metricsPort !== undefined
        ? {
            metrics: {
              prometheus: {
                framework: 'tally',
                timerType: 'histogram',
                listenAddress: `${host}:${options.metricsPort}`,
              },
            },
          }
        : {}),
    },
    services: { frontend, history: await service(), matching: await service(), worker: await service() },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${host}:${options.port}`,
          httpAddress: `${host}:${httpPort}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: `${host}:${options.port}` },
    dynamicConfigClient: { filepath: TEMPORAL_SERVER_DYNAMIC_CONFIG, pollInterval: '10s' },
  };
}

/** The `default` namespace (72 h retention, as compose/temporal/setup-namespace.sh) and our search attributes. */
async function setUpNamespace(address: string): Promise<true | string> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 }).catch(() => undefined);
  if (!connection) return `no connection to ${address} yet`;
  const namespace = 'default';
  try {
    await connection.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('72h') })
      .catch((err: { code?: number }) => {
        if (err.code !== 6) throw err; // ALREADY_EXISTS
      });
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = searchAttributes.filter((sa) => customAttributes?.[sa.name] !== sa.indexed);
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((sa) => [sa.name, sa.indexed])),
      });
    }
    // The frontend knows the namespace and the search attributes: a visibility query on each of them is accepted.
    await connection.workflowService.countWorkflowExecutions({
      namespace,
      query: searchAttributes.map((sa) => `${sa.name} IS NOT NULL`).join(' OR '),
    });
    return true;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await connection.close();
  }
}

/**
 * Starts PostgreSQL and the Temporal server in `dir` (set up on the first start, reused after), and resolves once
 * the `default` namespace and our search attributes are usable.
 */
export async function startTemporalServer(
  options: TemporalServerOptions,
  log: (line: string) => void = () => undefined,
): Promise<TemporalServer> {
  requireTool(temporalServerTools.server, `Temporal server ${TEMPORAL_SERVER_VERSION}`);
  requireTool(temporalServerTools.sqlTool, `temporal-sql-tool ${TEMPORAL_SERVER_VERSION}`);
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true });
  const pg = await startPostgres({
    dir,
    port: options.postgresPort ?? (await freePort()),
    logFile: path.join(dir, 'postgres.log'),
  });
  try {
    await setUpSchemas(pg, log);
    const configFile = path.join(dir, 'temporal-server.yaml');
    fs.writeFileSync(configFile, JSON.stringify(await serverConfig(pg, options), null, 2) + '\n');
    const address = `${host}:${options.port}`;
    const proc = spawnManaged(
      'temporal server',
      temporalServerTools.server,
      ['--config-file', configFile, '--allow-no-auth', 'start'],
      {
        logFile: path.join(dir, 'temporal-server.log'),
        env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_'))),
      },
    );
    await waitForProcess(
      proc,
      `serves on ${address} with the default namespace and our search attributes`,
      () => setUpNamespace(address),
      options.readyTimeoutMs ?? 120_000,
    );
    // The other services' namespace registries refresh every 2 s (system.namespaceCacheRefreshInterval): let them
    // see the search attributes too before a workflow upserts them.
    await sleep(3000);
    return {
      address,
      process: proc,
      postgres: pg,
      async stop() {
        await proc.stop();
        await pg.stop();
      },
    };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}

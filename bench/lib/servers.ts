/** The engines' servers for the benchmark: Temporal (dev server on a file, or the server itself), Restate, PostgreSQL, our processes. */
import path from 'node:path';
import { startPostgres as startPostgresServer } from '../../scripts/lib/postgres';
import { spawnManaged, waitForLogLine, waitForProcess, type ManagedProcess } from '../../scripts/lib/processes';
import { freePort, startTemporalDevServer } from '../../scripts/lib/servers';
import { startTemporalServer } from '../../scripts/lib/temporal-server';

/** SQLite settings of the dev server: WAL (what `npm start` uses) or SQLite's defaults (labelled as such). */
export type SqliteMode = 'wal' | 'default';

/** Which Temporal server a Temporal engine runs on: the dev server (what `npm start` runs) or the server itself. */
export type TemporalServerKind = 'dev' | 'full';

/** A Temporal server of the benchmark's: its frontend, the processes whose CPU and memory count as the server's. */
export interface BenchTemporal {
  address: string;
  processes: Record<string, ManagedProcess>;
  stop(): Promise<void>;
}

/**
 * A Temporal server of its own on free ports, its data and logs in `dir`:
 * - `dev` (default): the dev server on a SQLite file (`sqlite`: WAL or SQLite's defaults), with the dynamic config
 *   `npm start` uses (DEV_SERVER_DYNAMIC_CONFIG) unless `serverDefaults` (the dispatch probe's baseline);
 * - `full`: the Temporal server itself on a PostgreSQL of its own, 4 history shards, its shipped dynamic config
 *   (scripts/lib/temporal-server.ts; `npm run temporal-server` runs the same). `sqlite` does not apply.
 */
export async function startTemporal(
  dir: string,
  sqlite: SqliteMode,
  { serverDefaults = false, server = 'dev' }: { serverDefaults?: boolean; server?: TemporalServerKind } = {},
): Promise<BenchTemporal> {
  if (server === 'full') {
    const full = await startTemporalServer({ dir: path.join(dir, 'temporal-server'), port: await freePort() });
    return {
      address: full.address,
      processes: { 'temporal server': full.process, 'temporal postgres': full.postgres.process },
      stop: () => full.stop(),
    };
  }
  const dev = await startTemporalDevServer({
    serverDefaults,
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.db'),
    sqlite,
    // A sweep may set dynamic config (`key=value;key=value`), e.g. the number of task queue partitions.
    dynamicConfig: (process.env.BENCH_TEMPORAL_DYNAMIC_CONFIG ?? '').split(';').filter(Boolean),
    logFile: path.join(dir, 'temporal.log'),
  });
  return { address: dev.address, processes: { 'temporal server': dev.process }, stop: () => dev.stop() };
}

/** The server binary from its platform package (the package's `bin` is a Node wrapper process around it). */
const restateBin = () =>
  path.join(
    path.dirname(require.resolve(`@restatedev/restate-server-${process.platform}-${process.arch}/package.json`)),
    'bin',
    'restate-server',
  );

export async function startRestate(dir: string): Promise<{ ingress: string; admin: string; proc: ManagedProcess }> {
  const [ingressPort, adminPort, nodePort] = [await freePort(), await freePort(), await freePort()];
  const proc = spawnManaged('restate', restateBin(), ['--no-logo', '--base-dir', path.join(dir, 'restate-data')], {
    logFile: path.join(dir, 'restate.log'),
    env: {
      ...process.env,
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingressPort}`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${adminPort}`,
      RESTATE_BIND_ADDRESS: `127.0.0.1:${nodePort}`,
      RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${nodePort}`,
      RESTATE_LISTEN_MODE: 'tcp',
      RESTATE_DISABLE_TELEMETRY: 'true',
    },
  });
  const admin = `http://127.0.0.1:${adminPort}`;
  const ingress = `http://127.0.0.1:${ingressPort}`;
  await waitForProcess(proc, 'answers on /health', () => answersOk(`${admin}/health`));
  return { ingress, admin, proc };
}

/** True once `url` answers 2xx; otherwise why not (for the timeout message). */
export async function answersOk(url: string): Promise<true | string> {
  try {
    const res = await fetch(url);
    return res.ok || `${url}: ${res.status}`;
  } catch (err) {
    return `${url}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Our own PostgreSQL for DBOS (fsync on, the default) on a free port with its own data directory. */
export async function startPostgres(dir: string): Promise<{ url: string; proc: ManagedProcess }> {
  const pg = await startPostgresServer({ dir, port: await freePort(), logFile: path.join(dir, 'postgres.log') });
  return { url: pg.url('dbos_bench'), proc: pg.process };
}

/** Starts a TypeScript entry point as a plain Node process (no tsx wrapper process) and waits for its ready line. */
export async function startNodeProcess(name: string, file: string, dir: string, env: NodeJS.ProcessEnv, ready: string) {
  const proc = spawnManaged(name, process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, ...env },
    logFile: path.join(dir, `${name}.log`),
  });
  await waitForLogLine(proc, ready, 120_000);
  return proc;
}

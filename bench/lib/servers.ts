/** The engines' servers for the benchmark: Temporal dev server (on a file), Restate, PostgreSQL, our processes. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { spawnManaged, waitForLogLine, waitForProcess, type ManagedProcess } from '../../scripts/lib/processes';
import { freePort, startTemporalDevServer, type TemporalDevServer } from '../../scripts/lib/servers';

/** SQLite settings of the dev server: WAL (what `npm start` uses) or SQLite's defaults (labelled as such). */
export type SqliteMode = 'wal' | 'default';

/**
 * A dev server of its own on free ports, its database and log in `dir`, with the dynamic config `npm start` uses
 * (DEV_SERVER_DYNAMIC_CONFIG) unless `serverDefaults` (the dispatch probe's baseline).
 */
export async function startTemporal(
  dir: string,
  sqlite: SqliteMode,
  { serverDefaults = false }: { serverDefaults?: boolean } = {},
): Promise<TemporalDevServer> {
  return startTemporalDevServer({
    serverDefaults,
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.db'),
    sqlite,
    // A sweep may set dynamic config (`key=value;key=value`), e.g. the number of task queue partitions.
    dynamicConfig: (process.env.BENCH_TEMPORAL_DYNAMIC_CONFIG ?? '').split(';').filter(Boolean),
    logFile: path.join(dir, 'temporal.log'),
  });
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

function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const v = fs.readdirSync(root).sort().at(-1);
  return v ? path.join(root, v, 'bin') : undefined;
}

/** Our own PostgreSQL (fsync on, the default) on a free port with its own data directory. */
export async function startPostgres(dir: string): Promise<{ url: string; proc: ManagedProcess }> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed: run bash bench/setup.sh');
  const data = path.join(dir, 'pgdata');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  fs.mkdirSync(data, { recursive: true });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  execFileSync(...run(path.join(bin, 'initdb'), ['-D', data, '--auth=trust', '-U', 'postgres']), { stdio: 'ignore' });
  const port = await freePort();
  const [cmd, args] = run(path.join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    data,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=200',
  ]);
  const proc = spawnManaged('postgres', cmd, args, { logFile: path.join(dir, 'postgres.log') });
  const isReady = () => {
    try {
      execFileSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      return true;
    } catch {
      return 'pg_isready: not yet';
    }
  };
  await waitForProcess(proc, 'accepts connections', isReady, 30_000);
  return { url: `postgresql://postgres@127.0.0.1:${port}/dbos_bench`, proc };
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

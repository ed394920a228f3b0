/** Starts the engines' servers for the benchmark: Temporal dev server (on a file), Restate, PostgreSQL. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, freePort, spawnManaged, tools, type ManagedProcess } from '../../scripts/lib/servers';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}: ${String(last)}`);
}

/** SQLite settings of the dev server: WAL (what `npm start` uses) or SQLite's defaults (labelled as such). */
export type SqliteMode = 'wal' | 'default';

export async function startTemporal(dir: string, mode: SqliteMode): Promise<{ address: string; proc: ManagedProcess }> {
  const port = await freePort();
  const uiPort = await freePort();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
  args.push('--log-level', 'warn', '--ui-disable-news-fetch', '--db-filename', path.join(dir, 'temporal.db'));
  if (mode === 'wal') args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  // A sweep may set dynamic config (`key=value;key=value`), e.g. the number of task queue partitions.
  for (const kv of (process.env.BENCH_TEMPORAL_DYNAMIC_CONFIG ?? '').split(';').filter(Boolean)) {
    args.push('--dynamic-config-value', kv);
  }
  const proc = spawnManaged('temporal', tools.temporal, args, { logFile: path.join(dir, 'temporal.log') });
  const address = `127.0.0.1:${port}`;
  await until('the Temporal dev server', 60_000, async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      const sa = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      return Object.keys(SEARCH_ATTRIBUTES).every((n) => sa.customAttributes?.[n] !== undefined);
    } finally {
      await connection.close();
    }
  });
  return { address, proc };
}

/** The server binary from its platform package (the package's `bin` is a Node wrapper process around it). */
export const restateBin = path.join(
  path.dirname(require.resolve(`@restatedev/restate-server-${process.platform}-${process.arch}/package.json`)),
  'bin',
  'restate-server',
);

export async function startRestate(dir: string): Promise<{ ingress: string; admin: string; proc: ManagedProcess }> {
  const [ingressPort, adminPort, nodePort] = [await freePort(), await freePort(), await freePort()];
  const proc = spawnManaged('restate', restateBin, ['--no-logo', '--base-dir', path.join(dir, 'restate-data')], {
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
  await until('the Restate server', 60_000, async () => (await fetch(`${admin}/health`)).ok);
  return { ingress, admin, proc };
}

export function postgresBinDir(): string | undefined {
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
  await until('PostgreSQL', 30_000, async () => {
    execFileSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    return true;
  });
  return { url: `postgresql://postgres@127.0.0.1:${port}/dbos_bench`, proc };
}

/** Starts a TypeScript entry point as a plain Node process (no tsx wrapper process) and waits for its ready line. */
export async function startNodeProcess(name: string, file: string, dir: string, env: NodeJS.ProcessEnv, ready: string) {
  const logFile = path.join(dir, `${name}.log`);
  const proc = spawnManaged(name, process.execPath, ['--import', 'tsx', file], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, ...env },
    logFile,
  });
  await until(`${name} to say '${ready}'`, 120_000, async () => {
    if (proc.hasExited()) throw new Error(`${name} exited: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    return fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes(ready);
  });
  return proc;
}

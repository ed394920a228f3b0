/**
 * PostgreSQL from the distribution's packages (Debian's `postgresql`, installed by bench/setup.sh), as a managed
 * child process of ours: its own data directory and a free port, never the system service. Used by the benchmark's
 * DBOS row and by the full Temporal server (temporal-server.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { spawnManaged, waitForProcess, type ManagedProcess } from './processes';

export interface Postgres {
  host: string;
  port: number;
  /** The superuser (`postgres`, trust authentication on 127.0.0.1 only). */
  user: string;
  /** postgresql://postgres@127.0.0.1:<port>/<database> */
  url(database: string): string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory, if any. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const v = fs
    .readdirSync(root)
    .sort((a, b) => Number(a) - Number(b))
    .at(-1);
  return v ? path.join(root, v, 'bin') : undefined;
}

/**
 * Starts PostgreSQL (fsync on, the default) on `port` with its cluster in `<dir>/pgdata`: created by initdb when
 * missing, reused otherwise (a restart keeps its data). As root it runs as the `postgres` user, which then owns
 * `dir`. Resolves once pg_isready answers.
 */
export async function startPostgres(options: {
  dir: string;
  port: number;
  logFile: string;
  /** `-c name=value` settings. */
  settings?: Record<string, string>;
}): Promise<Postgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed: run bash bench/setup.sh (Debian package postgresql)');
  const { dir, port, logFile } = options;
  const data = path.join(dir, 'pgdata');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  fs.mkdirSync(data, { recursive: true });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
    execFileSync(...run(path.join(bin, 'initdb'), ['-D', data, '--auth=trust', '-U', 'postgres']), {
      stdio: 'ignore',
    });
  }
  // TCP on 127.0.0.1 only: no Unix socket, whose path (under a deep data directory) may exceed the 107-byte limit
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '200',
    ...options.settings,
  };
  const args = ['-D', data, '-p', String(port)];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
  const proc = spawnManaged('postgres', ...run(path.join(bin, 'postgres'), args), { logFile });
  const isReady = () => {
    try {
      execFileSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      return true;
    } catch {
      return 'pg_isready: not yet';
    }
  };
  await waitForProcess(proc, 'accepts connections', isReady, 30_000);
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    url: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    process: proc,
    async stop() {
      await proc.stop();
    },
  };
}

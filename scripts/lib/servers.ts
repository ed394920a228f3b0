/**
 * Launch and stop the local servers (Temporal dev server, FerretDB) and our own child processes.
 *
 * Node built-ins only, plus the `mongodb` driver for FerretDB's readiness ping.
 *
 * Every process started here runs in its own process group (`detached`), so a Ctrl-C in the terminal reaches only
 * the parent script, which then stops its children in the order it wants. Children must not outlive the parent:
 * - on `process.exit` every child still running gets SIGKILL (to its whole group);
 * - on SIGINT/SIGTERM/SIGHUP, if the script registered no handler of its own for that signal, every child is
 *   stopped (newest first; SIGTERM, then SIGKILL after a timeout) and the process exits with 128 + signal number.
 *   A script with its own handler is responsible for calling `stopAll()` (or the handles' `stop()`).
 * A parent killed with SIGKILL cannot clean up: its children then keep running and hold their ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { searchAttributeDefinitions } from '../../common/search-attributes';

/** Repository root (this file is scripts/lib/servers.ts). */
export const repoRoot = path.resolve(__dirname, '..', '..');

/** Names of the environment variables the scripts read and pass on to the worker, API and tests. */
export const ENV = {
  /** Temporal frontend gRPC address, host:port. */
  temporalAddress: 'TEMPORAL_ADDRESS',
  /** MongoDB connection string. */
  mongodbUri: 'MONGODB_URI',
  /** MongoDB database name. */
  mongodbDb: 'MONGODB_DB',
  /** Temporal Web UI base URL. */
  temporalUiUrl: 'TEMPORAL_UI_URL',
  /** Absolute path of the `temporal` CLI binary. */
  temporalCli: 'TEMPORAL_CLI',
  /** Absolute path of the `temporal-test-server` binary (time-skipping test server). */
  temporalTestServer: 'TEMPORAL_TEST_SERVER',
} as const;

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function resolveTool(localPath: string, nameOnPath?: string): string {
  if (fs.existsSync(localPath)) return localPath;
  return (nameOnPath && findOnPath(nameOnPath)) ?? localPath;
}

/** The user's own `temporal` on PATH wins over ours (our venv's, should it be on PATH, is ours). */
function resolveTemporalCli(): string {
  const ours = path.join(repoRoot, '.tools', 'venv', 'bin', 'temporal');
  const theirs = findOnPath('temporal');
  return theirs && !theirs.startsWith(path.join(repoRoot, '.tools')) ? theirs : ours;
}

/**
 * Absolute paths of the tool binaries. `temporal` is the user's when one is on PATH, else the pinned one that
 * scripts/setup.sh installs into .tools/ (installed either way: the test server comes with it). A path may not
 * exist (setup not run): starting a server then fails with a message saying so.
 */
export const tools = {
  temporal: resolveTemporalCli(),
  temporalTestServer: resolveTool(path.join(repoRoot, '.tools', 'venv', 'bin', 'temporal-test-server')),
  ferretdb: path.join(repoRoot, '.tools', 'bin', 'ferretdb'),
} as const;

function requireTool(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new Error(`${what} not found at ${file}: run \`npm run setup\` first`);
}

/** A free TCP port on 127.0.0.1 (asks the OS for port 0, then releases it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not get a free port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * Throws a clear error when host:port is already taken. Checked before starting a server: otherwise the readiness
 * check could find a different server answering on that port while ours fails to bind.
 */
export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`${what}: port ${host}:${port} is already in use (another instance running?)`)
          : err,
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** Last `lines` lines of a text file ('' if it cannot be read). */
export function tailFile(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Managed child processes
// ---------------------------------------------------------------------------------------------------------------

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Log file receiving stdout and stderr, if any. */
  readonly logFile?: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** True once stop() has been called: an exit after that is expected. */
  isStopping(): boolean;
  /**
   * Sends SIGTERM to the process, waits up to `timeoutMs` (default 10 s) for it to exit, then sends SIGKILL to its
   * whole process group. Resolves when it has exited. Safe to call more than once.
   */
  stop(timeoutMs?: number): Promise<ExitInfo>;
}

export interface SpawnManagedOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Append stdout and stderr to this file (created with its folder). Default: inherit the parent's. */
  logFile?: string;
  /** Truncate logFile first instead of appending. */
  truncateLog?: boolean;
  /** Default timeout of stop(), ms. */
  stopTimeoutMs?: number;
}

const managed: ManagedProcess[] = [];
const groups = new Set<number>();
let hooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const pid of groups) killGroup(pid, 'SIGKILL');
  });
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  let stoppingSince = 0;
  for (const signal of signals) {
    const handler = () => {
      // The script installed its own handler: it decides what to stop and when.
      if (process.listenerCount(signal) > 1) return;
      if (stoppingSince) {
        // A repeat within a second is most likely the same Ctrl-C delivered twice (terminal + a wrapper).
        if (Date.now() - stoppingSince < 1000) return;
        // a real second signal: do not wait any longer
        for (const pid of groups) killGroup(pid, 'SIGKILL');
        process.exit(128 + (numbers[signal] ?? 0));
      }
      stoppingSince = Date.now();
      void stopAll().finally(() => process.exit(128 + (numbers[signal] ?? 0)));
    };
    process.on(signal, handler);
  }
}

/**
 * Spawns a command in its own process group and tracks it so that it is stopped with the parent (see file header).
 * stdin is ignored.
 */
export function spawnManaged(name: string, command: string, args: string[], options: SpawnManagedOptions = {}) {
  installHooks();
  let logFd: number | undefined;
  if (options.logFile) {
    fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
    logFd = fs.openSync(options.logFile, options.truncateLog ? 'w' : 'a');
  }
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', logFd ?? 'inherit', logFd ?? 'inherit'],
    });
  } finally {
    if (logFd !== undefined) fs.closeSync(logFd);
  }
  let exitInfo: ExitInfo | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (err) => {
      // spawn failure (e.g. ENOENT): no 'exit' event follows
      spawnError = err;
      if (child.pid === undefined) {
        exitInfo = { code: 127, signal: null };
        resolve(exitInfo);
      }
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`could not start ${name}: ${spawnError?.message ?? `${command} not found or not executable`}`);
  }
  groups.add(pid);
  let stopping = false;
  let stopPromise: Promise<ExitInfo> | undefined;
  const handle: ManagedProcess = {
    name,
    pid,
    logFile: options.logFile,
    exited,
    hasExited: () => exitInfo !== undefined,
    isStopping: () => stopping,
    stop(timeoutMs = options.stopTimeoutMs ?? 10_000) {
      stopping = true;
      stopPromise ??= (async () => {
        if (exitInfo === undefined) {
          // SIGTERM to the process itself (a wrapper such as tsx relays it to its child), not to the group: a
          // child that got it twice might start its shutdown twice.
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // already gone
          }
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([
            exited.then(() => false),
            new Promise<boolean>((resolve) => {
              timer = setTimeout(() => resolve(true), timeoutMs);
            }),
          ]);
          clearTimeout(timer);
          if (timedOut) {
            process.stderr.write(`${name} did not stop within ${timeoutMs} ms: killing it\n`);
          }
        }
        // Whatever is left in the group (grandchildren, or the process itself after the timeout). Only while the
        // group is ours: once it is gone its id may be reused.
        if (groups.has(pid)) killGroup(pid, 'SIGKILL');
        const info = await exited;
        groups.delete(pid);
        forget();
        return info;
      })();
      return stopPromise;
    },
  };
  const forget = () => {
    const index = managed.indexOf(handle);
    if (index >= 0) managed.splice(index, 1);
  };
  managed.push(handle);
  // A process that exits by itself may leave grandchildren in its group: kill them now, then forget the group.
  void exited.then(() => {
    if (!stopping) {
      killGroup(pid, 'SIGKILL');
      groups.delete(pid);
      forget();
    }
  });
  return handle;
}

/** Stops every managed process still running, newest first. */
export async function stopAll(): Promise<void> {
  for (const proc of [...managed].reverse()) {
    await proc.stop();
  }
}

/** SIGKILL every managed process group at once (for a second Ctrl-C). */
export function killAllNow(): void {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
}

// ---------------------------------------------------------------------------------------------------------------
// Readiness helpers
// ---------------------------------------------------------------------------------------------------------------

function tcpConnects(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

class NotReady extends Error {}

/**
 * Polls `check` until it resolves true. Fails when the process exits first or when `timeoutMs` passes; the error
 * message includes the tail of the process's log file.
 */
async function waitUntil(
  proc: ManagedProcess,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = '';
  for (;;) {
    if (proc.hasExited()) {
      const info = await proc.exited;
      throw new Error(
        `${proc.name} exited (code ${info.code}, signal ${info.signal}) before ${what}` + logTail(proc.logFile),
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${proc.name}: timed out after ${timeoutMs} ms waiting until ${what}` +
          (lastProblem ? ` (last problem: ${lastProblem})` : '') +
          logTail(proc.logFile),
      );
    }
    await sleep(200);
  }
}

function logTail(logFile: string | undefined): string {
  if (!logFile) return '';
  const tail = tailFile(logFile);
  return `\n--- last lines of ${logFile} ---\n${tail || '(empty)'}\n---`;
}

/** Environment for the temporal CLI: without the user's TEMPORAL_* settings (address, TLS, API key, profile...). */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('TEMPORAL_')) env[key] = value;
  }
  return env;
}

/** Runs the temporal CLI; resolves with its exit code and output. */
function runCli(args: string[], timeoutMs = 5000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(tools.temporal, [...args, '--disable-config-file', '--disable-config-env'], {
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + err.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Temporal dev server
// ---------------------------------------------------------------------------------------------------------------

export type SearchAttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** The search attributes our workflows use. */
/** Our search attributes, from the one definition the workflows and the API use. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeType>> = Object.fromEntries(
  searchAttributeDefinitions.map(({ name, type }) => [name, type]),
);

export interface TemporalDevServerOptions {
  /** Frontend gRPC port (bound on 127.0.0.1). */
  port: number;
  /** Web UI port (bound on 127.0.0.1). */
  uiPort: number;
  /** SQLite file to persist to (WAL, synchronous=normal). Omitted: in memory, lost on stop. */
  dbFile?: string;
  /** stdout and stderr of the server. */
  logFile: string;
  /** Truncate logFile instead of appending. */
  truncateLog?: boolean;
  /** Search attributes to register; default SEARCH_ATTRIBUTES. */
  searchAttributes?: Readonly<Record<string, SearchAttributeType>>;
  /** Namespace to create besides 'default'. */
  namespace?: string;
  /** Give up waiting for readiness after this many ms (default 60 s). */
  readyTimeoutMs?: number;
}

export interface TemporalDevServer {
  /** host:port of the frontend gRPC service, for TEMPORAL_ADDRESS. */
  address: string;
  port: number;
  uiPort: number;
  /** http://127.0.0.1:<uiPort> */
  uiUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

const INDEXED_VALUE_TYPE: Record<SearchAttributeType, string> = {
  Text: 'INDEXED_VALUE_TYPE_TEXT',
  Keyword: 'INDEXED_VALUE_TYPE_KEYWORD',
  Int: 'INDEXED_VALUE_TYPE_INT',
  Double: 'INDEXED_VALUE_TYPE_DOUBLE',
  Bool: 'INDEXED_VALUE_TYPE_BOOL',
  Datetime: 'INDEXED_VALUE_TYPE_DATETIME',
  KeywordList: 'INDEXED_VALUE_TYPE_KEYWORD_LIST',
};

/**
 * Starts `temporal server start-dev` on 127.0.0.1 and resolves once the frontend reports SERVING and the search
 * attributes are registered.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  requireTool(tools.temporal, 'temporal CLI');
  const { port, uiPort, dbFile, logFile } = options;
  const searchAttributes = options.searchAttributes ?? SEARCH_ATTRIBUTES;
  const namespace = options.namespace ?? 'default';
  const host = '127.0.0.1';
  const address = `${host}:${port}`;
  await assertPortFree(host, port, 'Temporal dev server gRPC');
  await assertPortFree(host, uiPort, 'Temporal Web UI');
  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    // the newsfeed is fetched from the internet by the browser; nothing to see offline
    '--ui-disable-news-fetch',
  ];
  for (const [name, type] of Object.entries(searchAttributes)) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  if (dbFile) {
    fs.mkdirSync(path.dirname(dbFile), { recursive: true });
    args.push(
      '--db-filename',
      dbFile,
      // ~10x faster than SQLite's defaults; a power loss may lose the last transactions, a process crash does not
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=normal',
    );
  }
  const proc = spawnManaged('temporal dev server', tools.temporal, args, {
    logFile,
    truncateLog: options.truncateLog,
    env: cliEnv(),
  });
  const expected = Object.entries(searchAttributes);
  try {
    await waitUntil(
      proc,
      `it serves on ${address} with its search attributes`,
      options.readyTimeoutMs ?? 60_000,
      async () => {
        if (!(await tcpConnects(host, port))) throw new NotReady(`no TCP connection to ${address} yet`);
        const health = await runCli(['operator', 'cluster', 'health', '--address', address]);
        if (health.code !== 0) throw new NotReady(`cluster health: ${health.stderr.trim() || health.stdout.trim()}`);
        if (expected.length === 0) return true;
        const list = await runCli([
          'operator',
          'search-attribute',
          'list',
          '--address',
          address,
          '--namespace',
          namespace,
          '-o',
          'json',
        ]);
        if (list.code !== 0) throw new NotReady(`search-attribute list: ${list.stderr.trim()}`);
        const custom =
          (JSON.parse(list.stdout) as { customAttributes?: Record<string, string> }).customAttributes ?? {};
        const missing = expected.filter(([name, type]) => custom[name] !== INDEXED_VALUE_TYPE[type]);
        if (missing.length > 0)
          throw new NotReady(`search attributes not registered yet: ${missing.map(([n]) => n).join(', ')}`);
        return true;
      },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    address,
    port,
    uiPort,
    uiUrl: `http://${host}:${uiPort}`,
    process: proc,
    stop: async () => {
      await proc.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// FerretDB
// ---------------------------------------------------------------------------------------------------------------

export interface FerretDbOptions {
  /** MongoDB wire protocol port (bound on 127.0.0.1). */
  port: number;
  /** Folder for the SQLite files (one per database); created if missing. */
  dataDir: string;
  /** stdout and stderr of the server. */
  logFile: string;
  /** Truncate logFile instead of appending. */
  truncateLog?: boolean;
  /** Give up waiting for readiness after this many ms (default 30 s). */
  readyTimeoutMs?: number;
}

export interface FerretDb {
  /** mongodb://127.0.0.1:<port>/ for MONGODB_URI. */
  uri: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts FerretDB (SQLite backend) on 127.0.0.1 and resolves once it answers a MongoDB `ping`. */
export async function startFerretDb(options: FerretDbOptions): Promise<FerretDb> {
  requireTool(tools.ferretdb, 'ferretdb');
  const { port, logFile } = options;
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const host = '127.0.0.1';
  const uri = `mongodb://${host}:${port}/`;
  await assertPortFree(host, port, 'FerretDB');
  const args = [
    '--handler=sqlite',
    // a directory URI: must end with '/'
    `--sqlite-url=file:${dataDir}/`,
    `--listen-addr=${host}:${port}`,
    // '-' disables the debug/metrics HTTP listener (default 127.0.0.1:8088, which two instances would share)
    '--debug-addr=-',
    // state.json (instance UUID, telemetry choice) lives here; default '.' would write it into the cwd
    `--state-dir=${dataDir}`,
    '--telemetry=disable',
    '--log-level=warn',
  ];
  const proc = spawnManaged('ferretdb', tools.ferretdb, args, {
    logFile,
    truncateLog: options.truncateLog,
    cwd: dataDir,
  });
  try {
    await waitUntil(proc, `it answers ping on ${uri}`, options.readyTimeoutMs ?? 30_000, async () => {
      if (!(await tcpConnects(host, port))) throw new NotReady(`no TCP connection to ${host}:${port} yet`);
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
      try {
        const reply = await client.db('admin').command({ ping: 1 });
        return reply.ok === 1;
      } finally {
        await client.close();
      }
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    uri,
    port,
    process: proc,
    stop: async () => {
      await proc.stop();
    },
  };
}

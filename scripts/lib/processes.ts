/**
 * Our child processes: started with execa, each in its own process group, stopped in the order the script wants.
 *
 * A Ctrl-C in the terminal reaches only the parent script (the children are `detached`), which stops its children
 * itself. Children must not outlive it:
 * - on `process.exit` every child still running gets SIGKILL (to its whole group);
 * - on SIGINT/SIGTERM/SIGHUP the script's own handler runs (`onShutdownSignal`), or else every child is stopped,
 *   newest first, and the process exits with 128 + signal number; the same signal again a second or more later
 *   kills everything at once.
 * A parent killed with SIGKILL cannot clean up: its children then keep running and hold their ports.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import execa from 'execa';
import { repoRoot } from './tools';
import { sleep, waitFor } from './wait';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Log file receiving stdout and stderr, if any. */
  readonly logFile?: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  hasExited(): boolean;
  /** True once stop() has been called: an exit after that is expected. */
  isStopping(): boolean;
  /**
   * SIGTERM to the process (a wrapper such as tsx relays it), SIGKILL to its whole group after `timeoutMs`
   * (default: the spawn option, else 10 s); then whatever is left of the group is killed. Safe to call twice.
   */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** SIGKILL to the whole group; resolves once every process of the group is gone. */
  kill9(): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** Default: the repository root. */
  cwd?: string;
  /** Append stdout and stderr to this file (created with its folder). Default: the parent's. */
  logFile?: string;
  /** Truncate logFile first instead of appending. */
  truncateLog?: boolean;
  /** Default timeout of stop(), ms. */
  stopTimeoutMs?: number;
}

const running: ManagedProcess[] = [];

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a command in its own process group, stdin ignored, tracked so that it is stopped with the parent. */
export function spawnManaged(name: string, command: string, args: string[], options: SpawnOptions = {}) {
  installHooks();
  let logFd: number | undefined;
  if (options.logFile) {
    fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
    logFd = fs.openSync(options.logFile, options.truncateLog ? 'w' : 'a');
  }
  let child: execa.ExecaChildProcess;
  try {
    child = execa(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      extendEnv: false,
      detached: true,
      cleanup: false, // our own exit hook kills the whole group
      reject: false,
      stdio: ['ignore', logFd ?? 'inherit', logFd ?? 'inherit'],
    });
  } finally {
    if (logFd !== undefined) fs.closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    void child.catch(() => undefined);
    throw new Error(`could not start ${name}: ${command} not found or not executable`);
  }
  let exitInfo: ExitInfo | undefined;
  const exited = child.then((r) => (exitInfo = { code: r.exitCode ?? null, signal: r.signal ?? null }));
  let stopping = false;
  let stopped: Promise<ExitInfo> | undefined;
  // Once: after that the group id may be reused.
  const forget = () => {
    const index = running.indexOf(handle);
    if (index < 0) return;
    running.splice(index, 1);
    killGroup(pid, 'SIGKILL'); // grandchildren left in the group
  };
  const handle: ManagedProcess = {
    name,
    pid,
    logFile: options.logFile,
    exited,
    hasExited: () => exitInfo !== undefined,
    isStopping: () => stopping,
    stop(timeoutMs = options.stopTimeoutMs ?? 10_000) {
      stopping = true;
      stopped ??= (async () => {
        if (exitInfo === undefined) {
          child.kill('SIGTERM', { forceKillAfterTimeout: false }); // our own timeout, below, kills the group
          const timer = setTimeout(() => {
            process.stderr.write(`${name} did not stop within ${timeoutMs} ms: killing it\n`);
            killGroup(pid, 'SIGKILL');
          }, timeoutMs);
          await exited;
          clearTimeout(timer);
        }
        forget();
        return exited;
      })();
      return stopped;
    },
    async kill9() {
      stopping = true;
      killGroup(pid, 'SIGKILL');
      await exited;
      while (groupAlive(pid)) await sleep(20);
      forget();
    },
  };
  running.push(handle);
  void exited.then(() => {
    if (!stopping) forget();
  });
  return handle;
}

/**
 * Polls `check` (as `waitFor`) while the process runs. Fails when the process exits first or on timeout, having
 * stopped the process, with the end of its log in the message.
 */
export async function waitForProcess(
  proc: ManagedProcess,
  what: string,
  check: () => Promise<boolean | string> | boolean | string,
  timeoutMs = 60_000,
): Promise<void> {
  try {
    await waitFor(
      `${proc.name} ${what}`,
      async () => {
        if (!proc.hasExited()) return check();
        const info = await proc.exited;
        throw new Error(`${proc.name} exited (code ${info.code}, signal ${info.signal}) before it ${what}`);
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    await proc.stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}${logTail(proc)}`);
  }
}

/** The process's log so far ('' before it writes one). */
export function readLog(proc: ManagedProcess): string {
  try {
    return proc.logFile ? fs.readFileSync(proc.logFile, 'utf8') : '';
  } catch {
    return '';
  }
}

/** Resolves once the process has logged `text` (see `waitForProcess`). */
export const waitForLogLine = (proc: ManagedProcess, text: string, timeoutMs?: number) =>
  waitForProcess(proc, `logged '${text}'`, () => readLog(proc).includes(text), timeoutMs);

function logTail(proc: ManagedProcess, lines = 40): string {
  if (!proc.logFile) return '';
  const tail = readLog(proc).split('\n').slice(-lines).join('\n').trimEnd();
  return `\n--- last lines of ${proc.logFile} ---\n${tail || '(empty)'}\n---`;
}

/** Stops every managed process still running, newest first. */
export async function stopAll(): Promise<void> {
  for (const proc of [...running].reverse()) await proc.stop();
}

/** SIGKILL to every managed process group at once. */
export function killAllNow(): void {
  for (const proc of running) killGroup(proc.pid, 'SIGKILL');
}

let scriptHandler: ((signal: NodeJS.Signals) => void) | undefined;
let hooksInstalled = false;

/**
 * The script's own answer to the first SIGINT/SIGTERM/SIGHUP (it then stops its processes itself). A repeat within
 * a second is ignored (most likely the same Ctrl-C delivered twice: terminal and a wrapper); a later one kills
 * everything at once and exits.
 */
export function onShutdownSignal(handler: (signal: NodeJS.Signals) => void): void {
  scriptHandler = handler;
  installHooks();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  let firstAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      const code = 128 + (os.constants.signals[signal] ?? 0);
      if (firstAt) {
        if (Date.now() - firstAt < 1000) return;
        process.stderr.write(`${signal} again: killing everything now\n`);
        process.exit(code); // the exit hook kills every group
      }
      firstAt = Date.now();
      if (scriptHandler) scriptHandler(signal);
      else void stopAll().finally(() => process.exit(code));
    });
  }
}

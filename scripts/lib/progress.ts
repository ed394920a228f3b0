/**
 * Progress of long work (`npm run chaos`, `npm run bench`, `npm run record-histories`, …): done / total, the rate and
 * the time left. On a terminal, a bar redrawn in place (`cli-progress`); otherwise (CI, a log file, a pipe) a plain
 * line at most every `everyMs` and at the end, so logs stay readable.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** Sets how many are done (not an increment: callers know their count). */
  update(done: number): void;
  /** The last line: done / total and the time it took. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is counted, e.g. "sagas settled". */
  label: string;
  total: number;
  /** Where to write (default stderr, so that a command's output on stdout stays clean). */
  stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Plain lines: at most one per this many ms (default 10 s). */
  everyMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

const seconds = (ms: number) =>
  ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.round(ms / 1000)} s`;

/** "label: done/total (pct%), rate/s, ~eta left" — what the plain lines say. */
export function progressLine(label: string, done: number, total: number, elapsedMs: number): string {
  const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const eta = rate > 0 && done < total ? `, ~${seconds(((total - done) / rate) * 1000)} left` : '';
  return `${label}: ${done}/${total} (${pct}%), ${rate.toFixed(1)}/s${eta}`;
}

export function startProgress({
  label,
  total,
  stream = process.stderr,
  everyMs = 10_000,
  now = Date.now,
}: ProgressOptions): Progress {
  const started = now();
  if ((stream as NodeJS.WriteStream).isTTY === true) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total} ({percentage}%) {rate}/s, ~{eta_formatted} left`,
      stream: stream,
      hideCursor: true,
      etaBuffer: 50,
    });
    bar.start(total, 0, { rate: '0.0' });
    const rate = (done: number) => ((done / Math.max(1, now() - started)) * 1000).toFixed(1);
    return {
      update: (done) => bar.update(done, { rate: rate(done) }),
      stop: () => bar.stop(),
    };
  }
  let lastLine = started;
  let last = 0;
  return {
    update(done) {
      last = done;
      if (now() - lastLine < everyMs) return;
      lastLine = now();
      stream.write(`${progressLine(label, done, total, now() - started)}\n`);
    },
    stop() {
      stream.write(`${label}: ${last}/${total} in ${seconds(now() - started)}\n`);
    },
  };
}

/**
 * Call limits, a workflow outbound interceptor: a test hook, OFF unless the worker is configured with
 * `SAGA_CALL_LIMITS` (workers/interceptors/call-limits.ts, docs/failure-matrix.md). It caps the timeouts and the
 * retries of every activity and local activity a saga schedules, so that a step times out or runs out of retries in
 * seconds instead of minutes; the named presets (workflows/saga/policies.ts) stay what production runs.
 *
 * Bundled into the workflow sandbox through a module generated for the limits (`callLimitModule`): plain code, no
 * I/O. It changes a command's options only, never which commands a saga issues or their order, so histories replay
 * with or without it.
 */
import type { ActivityOptions, LocalActivityOptions, WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** What the hook caps; each field unset: left as the preset has it. */
export interface CallLimits {
  /** Upper bound of every call's start-to-close timeout, in ms. */
  startToCloseMs?: number;
  /** Upper bound of the retry policy's initial and maximum interval, in ms. */
  retryIntervalMs?: number;
  /** Upper bound of the attempts of a call whose preset limits them (an unlimited preset stays unlimited). */
  maximumAttempts?: number;
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration of the presets (`'10s'`, `'1m'`, a number of ms) in ms; undefined for anything else. */
export function toMs(duration: unknown): number | undefined {
  if (typeof duration === 'number') return duration;
  if (typeof duration !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(duration.trim());
  return match ? Number(match[1]) * units[match[2]!]! : undefined;
}

const capped = (value: unknown, limit: number | undefined): number | undefined => {
  if (limit === undefined) return undefined;
  const ms = toMs(value);
  return ms === undefined ? limit : Math.min(ms, limit);
};

/** The options with the limits applied (exported for its test). */
export function limitOptions<O extends ActivityOptions | LocalActivityOptions>(options: O, limits: CallLimits): O {
  const out: O = { ...options };
  const startToClose = capped(options.startToCloseTimeout, limits.startToCloseMs);
  if (startToClose !== undefined) out.startToCloseTimeout = startToClose;
  if (options.retry) {
    const retry = { ...options.retry };
    const initial = capped(retry.initialInterval ?? '1s', limits.retryIntervalMs);
    if (initial !== undefined) retry.initialInterval = initial;
    if (retry.maximumInterval !== undefined) {
      const maximum = capped(retry.maximumInterval, limits.retryIntervalMs);
      if (maximum !== undefined) retry.maximumInterval = Math.max(maximum, initial ?? 0);
    }
    if (limits.maximumAttempts !== undefined && retry.maximumAttempts !== undefined && retry.maximumAttempts > 0) {
      retry.maximumAttempts = Math.min(retry.maximumAttempts, limits.maximumAttempts);
    }
    out.retry = retry;
  }
  return out;
}

/** The interceptors of a generated module: `export const interceptors = limitCalls({ … })`. */
export function limitCalls(limits: CallLimits): WorkflowInterceptorsFactory {
  return () => ({
    outbound: [
      {
        scheduleActivity: (input, next) => next({ ...input, options: limitOptions(input.options, limits) }),
        scheduleLocalActivity: (input, next) => next({ ...input, options: limitOptions(input.options, limits) }),
      },
    ],
  });
}

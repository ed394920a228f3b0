/** Polling that fails on timeout: one way to wait, for the scripts, the benchmark and the tests. */
import { ServiceError, type WorkflowHandle } from '@temporalio/client';
import pWaitFor from 'p-wait-for';
import { getStateQuery } from '../../common/definitions';
import type { SagaState, SagaStatus } from '../../common/saga-state';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  /** Give up after this many ms (default 60 s). */
  timeoutMs?: number;
  /** Between two checks (default 200 ms). */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns true. `false` or a string (why not yet) means "again"; an error thrown by `check`
 * fails the wait at once. On timeout it throws, naming `what` and the last reason given.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean | string> | boolean | string,
  { timeoutMs = 60_000, intervalMs = 200 }: WaitOptions = {},
): Promise<void> {
  let lastReason = '';
  try {
    await pWaitFor(
      async () => {
        const result = await check();
        if (typeof result === 'string') lastReason = result;
        return result === true;
      },
      { interval: intervalMs, timeout: timeoutMs },
    );
  } catch (err) {
    if (!(err instanceof Error) || err.name !== 'TimeoutError') throw err;
    throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${lastReason ? ` (${lastReason})` : ''}`);
  }
}

/** Polls `read` until `done` accepts its value, and returns that value; fails on timeout showing the last one. */
export async function pollUntil<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options?: WaitOptions,
): Promise<T> {
  let value: T | undefined;
  await waitFor(
    what,
    async () => {
      value = await read();
      return done(value) || `still ${JSON.stringify(value)}`;
    },
    options,
  );
  return value as T;
}

/** gRPC DEADLINE_EXCEEDED: the server gave up waiting for a worker to answer the query (a busy worker). */
const DEADLINE_EXCEEDED = 4;
const queryTimedOut = (err: unknown): boolean =>
  err instanceof ServiceError && (err.cause as { code?: unknown } | undefined)?.code === DEADLINE_EXCEEDED;

/**
 * gRPC FAILED_PRECONDITION "Workflow Task in failed state": the saga's last workflow task failed or timed out (a
 * batch of local steps on a loaded worker can pass the task's 10 s) and the server waits for its retry.
 */
const FAILED_PRECONDITION = 9;
const workflowTaskFailed = (err: unknown): boolean =>
  err instanceof ServiceError &&
  (err.cause as { code?: unknown } | undefined)?.code === FAILED_PRECONDITION &&
  /Workflow Task in failed state/i.test(err.cause instanceof Error ? err.cause.message : '');

/**
 * Polls a saga's getState query until its status is one of `statuses`, and returns that state. A query that timed
 * out before a worker could answer it (a worker busy with many sagas), or one refused while the saga's workflow task
 * waits for its retry, counts as "not yet" (the wait's own timeout still ends it, naming the reason); any other error
 * fails.
 */
export async function waitForSagaStatus<S extends SagaState>(
  handle: WorkflowHandle,
  statuses: readonly SagaStatus[],
  options?: WaitOptions,
): Promise<S> {
  let state: S | undefined;
  await waitFor(
    `saga ${handle.workflowId} is ${statuses.join(' or ')}`,
    async () => {
      try {
        state = (await handle.query(getStateQuery)) as S;
      } catch (err) {
        if (queryTimedOut(err)) return 'a query timed out before a worker could answer it';
        if (workflowTaskFailed(err)) return 'its workflow task failed and waits for its retry';
        throw err;
      }
      return statuses.includes(state.status) || `still ${state.status}`;
    },
    options,
  );
  return state!;
}

/** `promise`, or a rejection with `message` after `ms` (the timer cleared either way). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AttemptDetail, Attempted } from '../common/attempted';

function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (a direct call in a test): the first and only attempt
  }
}

/**
 * Wraps an activity so that its result and its failures carry the attempt number.
 *
 * A business failure stays non-retryable with its type; any other error becomes a retryable
 * `ApplicationFailure` whose type is the error's name, so the saga's state can say what happened.
 */
export function reportingAttempt<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<Attempted<R>> => {
    const attempt = currentAttempt();
    const detail: AttemptDetail = { attempt };
    try {
      return { value: await fn(...args), attempt };
    } catch (err) {
      if (err instanceof ApplicationFailure) {
        throw ApplicationFailure.create({
          message: err.message,
          type: err.type ?? 'Error',
          nonRetryable: err.nonRetryable ?? false,
          details: [detail],
          cause: err.cause,
        });
      }
      const error = err instanceof Error ? err : new Error(String(err));
      throw ApplicationFailure.create({
        message: error.message,
        type: error.name || 'Error',
        nonRetryable: false,
        details: [detail],
      });
    }
  };
}

/** Applies `reportingAttempt` to every function of an activity object, keeping their names. */
export function reportingAttempts<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
): { [K in keyof T]: (...args: Parameters<T[K]>) => Promise<Attempted<Awaited<ReturnType<T[K]>>>> } {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      reportingAttempt(fn as (...args: unknown[]) => Promise<unknown>),
    ]),
  ) as never;
}

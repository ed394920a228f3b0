/**
 * Attempt reporting, an activity inbound interceptor that every saga worker installs (`createSagaWorker`): the
 * workflows read the attempt that produced a result (`Attempted<T>`, common/attempted.ts) and the attempt a
 * failure came from (its first detail), so that a saga's state can say how many attempts a step took.
 *
 * Local activities pass through it too: the SDK's core hands local activity tasks to the worker on the same
 * activity task stream as regular ones (`start.isLocal` set), and `Worker.activityOperator()`
 * (node_modules/@temporalio/worker/lib/worker.js) runs both through `new Activity(…, interceptors.activity)`,
 * whose `execute` composes the `inbound` interceptors around the function (lib/activity.js). Several order-saga
 * steps are local activities.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CompleteAsyncError } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';
import type { AttemptDetail, Attempted } from '../../common/attempted';

/**
 * A failure that carries the attempt number as its first detail (a business failure's own details follow). A business failure stays non-retryable with its
 * type; any other error becomes a retryable `ApplicationFailure` whose type is the error's name, so the saga's
 * state can say what happened. It keeps the stack of the error it stands for: the SDK's log line about the failed
 * attempt shows where it was thrown, not this function.
 */
export function failureOfAttempt(err: unknown, attempt: number): ApplicationFailure {
  const detail: AttemptDetail = { attempt };
  const error = err instanceof Error ? err : new Error(String(err));
  const failure =
    error instanceof ApplicationFailure
      ? ApplicationFailure.create({
          message: error.message,
          type: error.type ?? 'Error',
          nonRetryable: error.nonRetryable ?? false,
          details: [detail, ...(error.details ?? [])],
          cause: error.cause,
        })
      : ApplicationFailure.create({
          message: error.message,
          type: error.name || 'Error',
          nonRetryable: false,
          details: [detail],
        });
  if (error.stack !== undefined) failure.stack = error.stack;
  return failure;
}

class AttemptReporting implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<Attempted<unknown>> {
    const { attempt } = this.ctx.info;
    try {
      return { value: await next(input), attempt };
    } catch (err) {
      // An activity that completes asynchronously (the carrier by command): whoever completes it reports the
      // attempt (workers/carrier-replies.ts), and the SDK must see this very error.
      if (err instanceof CompleteAsyncError) throw err;
      throw failureOfAttempt(err, attempt);
    }
  }
}

/** Every activity's result becomes `{ value, attempt }`, every failure carries `{ attempt }` as its first detail. */
export const reportAttempts: ActivityInterceptorsFactory = (ctx) => ({ inbound: new AttemptReporting(ctx) });

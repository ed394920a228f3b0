/**
 * The tests' one way to hold or break a saga in this process: rules by workflow id and activity, applied by an
 * activity inbound interceptor, the same mechanism as the product's fault injection (SAGA_FAULTS, which stays the
 * way into a worker that runs as a child process). Used by the harness's worker (`h.hooks`: the API, CLI and
 * process tests) and by `scripts/record-histories.ts`.
 *
 * Nothing here touches product code: `createSagaWorker({ activityInterceptors: [hooks.interceptor] })` runs the
 * interceptor inside attempt reporting, so a failure it throws is reported like a real one; a rule applies only to
 * the saga whose workflow id it names, so other sagas on the same worker run untouched. Local activities pass
 * through activity interceptors as regular ones do (workers/interceptors/attempt-reporting.ts).
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** Holds calls until released; tells when the first call arrived. */
export class Gate {
  private releaseFn!: () => void;
  private enterFn!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.releaseFn = resolve));
  /** Resolves when a call first reaches the gate. */
  readonly entered = new Promise<void>((resolve) => (this.enterFn = resolve));

  /**
   * @param maxHoldMs let a held call go after this long at the latest (e.g. well inside the activity's
   *   start-to-close timeout); unset: hold until `release()`
   */
  constructor(private readonly maxHoldMs?: number) {}

  async pass(): Promise<void> {
    this.enterFn();
    if (this.maxHoldMs === undefined) return this.released;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.maxHoldMs)));
    await Promise.race([this.released, timeout]);
    clearTimeout(timer);
  }

  /** Lets every held call go; later calls pass at once. */
  release(): void {
    this.releaseFn();
  }
}

export interface HookRule {
  /** The saga it applies to. */
  workflowId: string;
  /** Activity name, e.g. `releaseCredit`. */
  activity: string;
  /** Hold the call at this gate before running it. */
  gate?: Gate;
  /** Throw a retryable error on attempts 1..N (the activity's retry policy then retries it). */
  failAttempts?: number;
  /**
   * Throw a non-retryable error on the first N calls, whatever their attempt number (for a compensation: the saga
   * goes FAILED and waits; the operator's retry schedules a new activity whose attempt is 1 again).
   */
  failNonRetryableCalls?: number;
}

/** A mutable set of rules that the interceptor consults on every activity call. */
export class SagaHooks {
  private readonly rules: HookRule[] = [];
  private readonly calls = new Map<HookRule, number>();

  add(rule: HookRule): HookRule {
    this.rules.push(rule);
    return rule;
  }

  /** Holds `activity` of saga `workflowId` at a new gate until `release` (or `maxHoldMs`, if given). */
  hold(workflowId: string, activity: string, { maxHoldMs }: { maxHoldMs?: number } = {}): Gate {
    const gate = new Gate(maxHoldMs);
    this.add({ workflowId, activity, gate });
    return gate;
  }

  /** Lets the held calls of saga `workflowId` go, and its later calls pass. */
  release(workflowId: string): void {
    for (const rule of this.rules) if (rule.workflowId === workflowId) rule.gate?.release();
  }

  /** Lets every held call go (before a worker shuts down, so that it does not wait for them). */
  releaseAll(): void {
    for (const rule of this.rules) rule.gate?.release();
  }

  /** Runs before the real activity: waits at a gate or throws, as the matching rules say. */
  private async before(ctx: Context): Promise<void> {
    const { workflowExecution, attempt, activityType: activity } = ctx.info;
    for (const rule of this.rules) {
      if (rule.activity !== activity || rule.workflowId !== workflowExecution?.workflowId) continue;
      const call = (this.calls.get(rule) ?? 0) + 1;
      this.calls.set(rule, call);
      if (rule.gate) await rule.gate.pass();
      if (rule.failNonRetryableCalls !== undefined && call <= rule.failNonRetryableCalls) {
        throw ApplicationFailure.nonRetryable(`Injected failure of ${activity} (attempt ${attempt})`, 'InjectedFault');
      }
      if (rule.failAttempts !== undefined && attempt <= rule.failAttempts) {
        throw new Error(`Injected transient failure of ${activity} (attempt ${attempt})`);
      }
    }
  }

  /** The activity inbound interceptor to give `createSagaWorker({ activityInterceptors })`. */
  readonly interceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute: async (input, next) => {
        await this.before(ctx);
        return next(input);
      },
    },
  });
}

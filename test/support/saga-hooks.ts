/**
 * The tests' one way to hold or break a saga: rules by workflow id and activity, applied by an activity inbound
 * interceptor. A rule is the product's fault rule (`FaultRule` of workers/interceptors/fault-injection.ts: `fail`,
 * `fatal`, `lose`, `rate`, `loseRate`, `delayMs`, counted by Temporal's attempt number) applied by the same code as
 * SAGA_FAULTS (`FaultInjection`), plus what only a test in this process can do: name one saga, hold it at a gate,
 * and limit the rule to the first calls. SAGA_FAULTS itself stays the way into a worker that runs as a child process
 * (the chaos run, docs/faults.md). Used by the harness's worker (`h.hooks`) and by `scripts/record-histories.ts`.
 *
 * Nothing here touches product code: `createSagaWorker({ activityInterceptors: [hooks.interceptor] })` runs the
 * interceptor inside attempt reporting, so a failure it throws is reported like a real one; a rule applies only to
 * the saga whose workflow id it names, so other sagas on the same worker run untouched. Local activities pass
 * through activity interceptors as regular ones do (workers/interceptors/attempt-reporting.ts).
 */
import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInterceptorsFactory } from '@temporalio/worker';
import type { createActivities } from '../../activities';
import { FaultInjection, type FaultRule } from '../../workers/interceptors/fault-injection';

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

/** The activities a rule can name. */
export type ActivityName = keyof ReturnType<typeof createActivities>;

/**
 * What happens to the calls of one activity of one saga: the product's `FaultRule` (e.g. `fail: 2`: attempts 1..2
 * fail retryably; `fatal: 'always'`: every attempt fails for good), and a gate to hold the calls at first.
 */
export interface HookRule extends FaultRule {
  /** The saga it applies to. */
  workflowId: string;
  /** Activity name, e.g. `releaseCredit`. */
  activity: ActivityName;
  /** Hold the call at this gate, then apply the faults. */
  gate?: Gate;
  /**
   * Apply the rule to the first N calls only, whatever their attempt number (`fatal: 'always', firstCalls: 1`:
   * a compensation fails for good once; the retry an operator or a signal asks for is a new activity, which
   * passes). Unset: every call, until `remove`.
   */
  firstCalls?: number;
}

/** A mutable set of rules that the interceptor consults on every activity call. */
export class SagaHooks {
  private readonly rules: HookRule[] = [];
  private readonly calls = new Map<HookRule, number>();

  add(rule: HookRule): HookRule {
    this.rules.push(rule);
    return rule;
  }

  /** Takes a rule away (the cause of a failure fixed): later calls no longer see it, a held call is let go. */
  remove(rule: HookRule): void {
    rule.gate?.release();
    const i = this.rules.indexOf(rule);
    if (i >= 0) this.rules.splice(i, 1);
  }

  /** Holds `activity` of saga `workflowId` at a new gate until `release` (or `maxHoldMs`, if given). */
  hold(workflowId: string, activity: ActivityName, { maxHoldMs }: { maxHoldMs?: number } = {}): Gate {
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

  /** The rules that apply to this call, each counting it. */
  private rulesFor(ctx: Context): HookRule[] {
    const { workflowExecution, activityType } = ctx.info;
    return this.rules.filter((rule) => {
      if (rule.activity !== activityType || rule.workflowId !== workflowExecution?.workflowId) return false;
      const call = (this.calls.get(rule) ?? 0) + 1;
      this.calls.set(rule, call);
      return rule.firstCalls === undefined || call <= rule.firstCalls;
    });
  }

  /** The activity inbound interceptor to give `createSagaWorker({ activityInterceptors })`. */
  readonly interceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute: async (input, next) => {
        // Each rule wraps the ones after it: its gate, then its faults (SAGA_FAULTS' code), around the real call.
        const run = this.rulesFor(ctx).reduceRight<(input: ActivityExecuteInput) => Promise<unknown>>(
          (inner, rule) => async (i) => {
            await rule.gate?.pass();
            return new FaultInjection(ctx, rule).execute(i, inner);
          },
          next,
        );
        return run(input);
      },
    },
  });
}

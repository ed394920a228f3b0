/**
 * Fault injection, an activity inbound interceptor: a test hook, OFF unless `SAGA_FAULTS` is set (see
 * docs/faults.md). This module holds the fault-spec grammar, its parser and the interceptor.
 *
 * A fault plan names activities (or `*` for all) and what goes wrong with each attempt of them:
 *
 *   fail=N | fail=always   attempts 1..N (or every attempt) throw `InjectedFault` before the real code runs
 *   fatal=N | fatal=always attempts 1..N (or every attempt) throw a NON-retryable `InjectedFault`: the activity fails
 *                          at once, as if its retries had run out (a compensation then leaves the saga FAILED)
 *   lose=N                 attempts 1..N run the real code, then throw: the effect landed, its result is lost
 *   hold=N | hold=always   attempts 1..N (or every attempt) run the real code, log that they hold, then hold the
 *                          result until the attempt is cancelled or 60 s pass, and throw: lets a kill land after the
 *                          effect, before the result reaches Temporal (the failure matrix's `kill` cells)
 *   rate=P                 each attempt throws before the real code with probability P (0..1)
 *   loseRate=P             each attempt runs the real code, then throws with probability P
 *   delayMs=N              each attempt waits N ms before the real code (lets a kill land mid-step)
 *
 * Compact form: `releaseCredit:fail=3,processPayment:lose=1,*:rate=0.05,*:delayMs=200` (a rule for a named
 * activity is merged over the `*` rule). JSON form: `{"releaseCredit":{"fail":3},"*":{"rate":0.05}}`.
 *
 * Counting is by Temporal's attempt number of the activity execution, not by a counter in this process: it
 * survives a worker restart, and `fail=N` gives exactly N+1 attempts in the saga's state. An activity the
 * workflow schedules anew (a compensation retried after an operator's `retryCompensation`) starts at attempt 1.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';
import { z } from 'zod';

/** What goes wrong with the attempts of one activity. */
export interface FaultRule {
  /** Attempts 1..N throw before the real code runs; `always`: every attempt. */
  fail?: number | 'always';
  /** Attempts 1..N (or every attempt) throw a non-retryable fault: the activity fails without retrying. */
  fatal?: number | 'always';
  /** Attempts 1..N run the real code and then throw (the effect landed, the result is lost). */
  lose?: number;
  /** Attempts 1..N (or every attempt) run the real code, then hold the result (`HOLD_MS` at most) and throw. */
  hold?: number | 'always';
  /** Probability that an attempt throws before the real code. */
  rate?: number;
  /** Probability that an attempt runs the real code and then throws. */
  loseRate?: number;
  /** Milliseconds each attempt waits before the real code. */
  delayMs?: number;
}

/** Activity name (or `*`) → rule. */
export type FaultPlan = Readonly<Record<string, FaultRule>>;

const count = z.number().int('must be a whole number').min(0, 'must not be negative').max(1_000_000);
const probability = z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1');
const rule = z.strictObject({
  fail: z.union([count, z.literal('always')]).optional(),
  fatal: z.union([count, z.literal('always')]).optional(),
  lose: count.optional(),
  hold: z.union([count, z.literal('always')]).optional(),
  rate: probability.optional(),
  loseRate: probability.optional(),
  delayMs: z.number().int('must be a whole number').min(0).max(60_000, 'must be at most 60000').optional(),
});
const activityName = z.string().regex(/^(\*|[A-Za-z][A-Za-z0-9]*)$/, 'must be an activity name or *');
const planSchema = z.record(activityName, rule);

/** A bad `SAGA_FAULTS` value; the message says what is wrong and where. */
export class FaultSpecError extends Error {
  override name = 'FaultSpecError';
}

/** Parses the compact form into the JSON form, without validating values beyond "is a number". */
function compactToObject(spec: string): Record<string, Record<string, unknown>> {
  const plan: Record<string, Record<string, unknown>> = {};
  for (const part of spec.split(',').map((p) => p.trim())) {
    if (!part) continue;
    const match = /^([^:=\s]+):([^=\s]+)=(\S+)$/.exec(part);
    if (!match) throw new FaultSpecError(`'${part}' is not <activity>:<fault>=<value>`);
    const [, activity, fault, raw] = match as unknown as [string, string, string, string];
    const value = raw === 'always' ? raw : Number(raw);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new FaultSpecError(`'${part}': ${raw} is not a number`);
    }
    (plan[activity] ??= {})[fault] = value;
  }
  return plan;
}

/**
 * Parses and validates a fault spec (compact or JSON form). An empty spec is no plan at all.
 * @throws FaultSpecError naming the activity and the fault that is wrong
 */
export function parseFaultSpec(spec: string): FaultPlan | undefined {
  const text = spec.trim();
  if (!text) return undefined;
  let raw: unknown;
  if (text.startsWith('{')) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new FaultSpecError('is not valid JSON');
    }
  } else {
    raw = compactToObject(text);
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const where = i.path.join('.');
      const what =
        i.code === 'unrecognized_keys'
          ? `unknown fault ${i.keys.join(', ')}`
          : i.code === 'invalid_key'
            ? 'must be an activity name or *'
            : i.message;
      return where ? `${where}: ${what}` : what;
    });
    throw new FaultSpecError(problems.join('; '));
  }
  return Object.keys(parsed.data).length > 0 ? parsed.data : undefined;
}

/**
 * The fault every injected failure throws: a plain, retryable error, so the activity's retry policy handles
 * it like any infrastructure failure (the saga's state shows its type, `InjectedFault`).
 */
export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

const hits = (limit: number | 'always' | undefined, attempt: number): boolean =>
  limit === 'always' || (limit !== undefined && attempt <= limit);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long a `hold` attempt holds its result at most (longer than any call's start-to-close timeout). */
export const HOLD_MS = 60_000;

/** What a held attempt logs once its effect landed (what the failure matrix waits for before the kill). */
export const HOLDING = 'holds its result after its effect';

/** The rule for one activity: its own fields over the `*` rule's. */
export function ruleFor(plan: FaultPlan, activity: string): FaultRule | undefined {
  const merged = { ...plan['*'], ...plan[activity] };
  return Object.keys(merged).length > 0 ? merged : undefined;
}

/**
 * What an injected fault does to one activity call: the one implementation, used by `injectFaults` (SAGA_FAULTS)
 * and by the tests' kit (test/support/saga-hooks.ts, rules by workflow id).
 */
export class FaultInjection implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly rule: FaultRule,
    private readonly random: () => number = Math.random,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { rule, random } = this;
    const { activityType: name, attempt } = this.ctx.info;
    if (rule.delayMs) await sleep(rule.delayMs);
    if (hits(rule.fail, attempt)) {
      throw new InjectedFault(`${name}: injected failure on attempt ${attempt} (fail=${rule.fail})`);
    }
    if (hits(rule.fatal, attempt)) {
      throw ApplicationFailure.create({
        type: 'InjectedFault',
        message: `${name}: injected non-retryable failure on attempt ${attempt} (fatal=${rule.fatal})`,
        nonRetryable: true,
      });
    }
    if (rule.rate !== undefined && random() < rule.rate) {
      throw new InjectedFault(`${name}: injected failure on attempt ${attempt} (rate=${rule.rate})`);
    }
    const result = await next(input);
    if (hits(rule.hold, attempt)) {
      this.ctx.log.warn(`${name}: attempt ${attempt} ${HOLDING} (hold=${rule.hold})`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.ctx.cancelled.catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, HOLD_MS))),
      ]).finally(() => clearTimeout(timer));
      throw new InjectedFault(
        `${name}: result of attempt ${attempt} held after its effect, then lost (hold=${rule.hold})`,
      );
    }
    if (hits(rule.lose, attempt)) {
      throw new InjectedFault(`${name}: result of attempt ${attempt} lost after its effect (lose=${rule.lose})`);
    }
    if (rule.loseRate !== undefined && random() < rule.loseRate) {
      throw new InjectedFault(
        `${name}: result of attempt ${attempt} lost after its effect (loseRate=${rule.loseRate})`,
      );
    }
    return result;
  }
}

/**
 * The activity inbound interceptor that applies a fault plan; `createSagaWorker` installs it only when given a
 * plan (SAGA_FAULTS). It runs inside attempt reporting, so an injected failure is reported like a real one.
 * Local activities pass through it as regular ones do (see attempt-reporting.ts). `random` is injectable for tests.
 * @throws FaultSpecError if the plan names an activity that is not in `activityNames`
 */
export function injectFaults(
  plan: FaultPlan,
  activityNames: readonly string[],
  random: () => number = Math.random,
): ActivityInterceptorsFactory {
  const unknown = Object.keys(plan).filter((name) => name !== '*' && !activityNames.includes(name));
  if (unknown.length > 0) {
    throw new FaultSpecError(`SAGA_FAULTS: no activity named ${unknown.join(', ')}`);
  }
  return (ctx) => {
    const rule = ruleFor(plan, ctx.info.activityType);
    return rule ? { inbound: new FaultInjection(ctx, rule, random) } : {};
  };
}

/** One line for the worker's log, so nobody runs with faults unknowingly. */
export function describeFaultPlan(plan: FaultPlan): string {
  return Object.entries(plan)
    .map(([activity, r]) => `${activity}: ${JSON.stringify(r)}`)
    .join('; ');
}

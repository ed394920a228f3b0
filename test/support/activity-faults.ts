/**
 * Test-only fault injection around the real participant activities, for the tools that need a saga in a
 * particular shape: `scripts/record-histories.ts` (a cancellation mid-step, a compensation that needed retries)
 * and the CLI and Web UI tests (a saga that stays running until the test lets it go).
 *
 * Nothing here touches product code: the wrapper sits between the worker and `createParticipants`, and each
 * rule applies only to the sagas whose workflow id it names, so other sagas on the same worker run untouched.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createParticipants, type ActivityDependencies } from '../../activities';
import { reportingAttempts } from '../../activities/attempts';

/** Holds calls until released; tells when the first call arrived. */
export class Gate {
  private releaseFn!: () => void;
  private enterFn!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.releaseFn = resolve));
  /** Resolves when a call first reaches the gate. */
  readonly entered = new Promise<void>((resolve) => (this.enterFn = resolve));

  async pass(): Promise<void> {
    this.enterFn();
    await this.released;
  }

  release(): void {
    this.releaseFn();
  }
}

export interface FaultRule {
  /** Activity name, e.g. `releaseCredit`. */
  activity: string;
  /** The saga it applies to. */
  workflowId: string;
  /** Throw a retryable error on attempts 1..N (the activity's retry policy then retries it). */
  failAttempts?: number;
  /**
   * Throw a non-retryable error on the first N calls, whatever their attempt number (for a compensation: the saga
   * goes FAILED and waits; the operator's retry schedules a new activity whose attempt is 1 again).
   */
  failNonRetryableCalls?: number;
  /** Hold the call at this gate before running it. */
  gate?: Gate;
}

/** A mutable set of rules the wrapped activities consult on every call. */
export class Faults {
  private readonly rules: FaultRule[] = [];
  private readonly calls = new Map<FaultRule, number>();

  add(rule: FaultRule): FaultRule {
    this.rules.push(rule);
    return rule;
  }

  /** Runs before the real activity: waits at a gate or throws, as the matching rules say. */
  async before(activity: string): Promise<void> {
    const { workflowExecution, attempt } = Context.current().info;
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
}

/**
 * The activities the worker registers (same names, same attempt reporting as `createActivities`), with the
 * fault rules applied before each participant call.
 */
export function createFaultyActivities(deps: ActivityDependencies, faults: Faults) {
  const participants = createParticipants(deps);
  const wrapped = Object.fromEntries(
    Object.entries(participants).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        await faults.before(name);
        return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  ) as typeof participants;
  return reportingAttempts(wrapped);
}

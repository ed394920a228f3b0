/**
 * The failure matrix's faults, an activity inbound interceptor given to the matrix's worker (inside attempt
 * reporting, so an injected failure is reported like a real one): one rule per saga, by workflow id, naming the
 * activity (and for a parallel group the item of the member) it breaks and how.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { type Gate } from '../../../test/support/saga-hooks';
import { FailureKind, INJECTED_FAULT } from './cells';

/** An infrastructure failure (retryable): its name is the state's failure type once retries ran out. */
class InjectedFault extends Error {
  override name = INJECTED_FAULT;
}

export interface FaultArm {
  activity: string;
  /** Only the calls whose argument carries this value (a parallel group's member: its item). */
  item?: string;
  kind: FailureKind;
  businessType?: string;
  /** `cancel`: the calls wait here until the runner lets them go. */
  gate?: Gate;
  /** `timeout`: how long each attempt takes after its effect landed (beyond its start-to-close timeout). */
  overrunMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function carries(arg: unknown, item: string): boolean {
  return typeof arg === 'object' && arg !== null && Object.values(arg).includes(item);
}

export class MatrixFaults {
  private readonly arms = new Map<string, FaultArm>();
  private readonly running = new Map<string, Set<Promise<unknown>>>();

  arm(workflowId: string, arm: FaultArm): void {
    this.arms.set(workflowId, arm);
  }

  disarm(workflowId: string): void {
    this.arms.get(workflowId)?.gate?.release();
    this.arms.delete(workflowId);
  }

  /** Resolves once no attempt of the saga's activities runs any more (a timed-out attempt finishes late). */
  async settled(workflowId: string): Promise<void> {
    for (;;) {
      const set = this.running.get(workflowId);
      if (!set || set.size === 0) return;
      await Promise.allSettled([...set]);
    }
  }

  private armFor(ctx: Context, args: unknown[]): FaultArm | undefined {
    const workflowId = ctx.info.workflowExecution?.workflowId;
    const arm = workflowId === undefined ? undefined : this.arms.get(workflowId);
    if (!arm || arm.activity !== ctx.info.activityType) return undefined;
    return arm.item === undefined || carries(args[0], arm.item) ? arm : undefined;
  }

  readonly interceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute: (input, next) => {
        const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
        const arm = this.armFor(ctx, input.args);
        const run = async (): Promise<unknown> => {
          if (!arm) return next(input);
          const { activityType, attempt } = ctx.info;
          switch (arm.kind) {
            case FailureKind.business:
              throw ApplicationFailure.nonRetryable(
                `${activityType}: injected business failure ${arm.businessType}`,
                arm.businessType,
              );
            case FailureKind.retries:
              throw new InjectedFault(`${activityType}: injected failure on attempt ${attempt}`);
            case FailureKind.timeout: {
              const result = await next(input);
              await sleep(arm.overrunMs ?? 0);
              return result;
            }
            case FailureKind.cancel:
              await arm.gate?.pass();
              return next(input);
            default:
              return next(input);
          }
        };
        const promise = run();
        const set = this.running.get(workflowId) ?? new Set<Promise<unknown>>();
        this.running.set(workflowId, set);
        set.add(promise);
        void promise.catch(() => undefined).finally(() => set.delete(promise));
        return promise;
      },
    },
  });
}

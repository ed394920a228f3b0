import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { SagaFailure } from './failures';

/**
 * A closed saga's final state, however its workflow closed: the result of a completed run (a COMPLETED saga, or a
 * COMPENSATED one from before `patched('compensated-closes-failed')`), or the state in the details of the
 * `SagaCompensated` failure a compensated saga closes with. Any other failure (a cancelled saga, a bug) is rethrown.
 */
export async function sagaResult<H extends { result(): Promise<unknown> }>(
  handle: H,
): Promise<Awaited<ReturnType<H['result']>>> {
  type S = Awaited<ReturnType<H['result']>>;
  try {
    return (await handle.result()) as S;
  } catch (err) {
    const state = compensatedState<S>(err);
    if (state === undefined) throw err;
    return state;
  }
}

/** The final state a `SagaCompensated` close carries, or undefined for any other error. */
export function compensatedState<S>(err: unknown): S | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== SagaFailure.Compensated) return undefined;
  return cause.details?.[0] as S | undefined;
}

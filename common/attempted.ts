/**
 * What every saga activity returns: its value and the attempt that produced it, so the saga's state
 * can show how many attempts a step took. Failures carry the attempt too, as the first detail of
 * the `ApplicationFailure` (see `workers/interceptors/attempt-reporting.ts`).
 */
export interface Attempted<T> {
  value: T;
  attempt: number;
}

export interface AttemptDetail {
  attempt: number;
}

/** Outcome of an idempotent effect, for logs and tests. */
export type EffectOutcome =
  | 'applied' // this call applied the effect
  | 'already-applied' // an earlier call with the same key applied it
  | 'compensated'; // the effect's compensation ran first: it must not be applied any more

/** Outcome of an idempotent compensation. */
export type CompensationOutcome =
  | 'undone' // this call undid the effect
  | 'already-undone' // an earlier call with the same key undid it
  | 'nothing-to-undo'; // the effect never took place; a tombstone now stops it from landing later

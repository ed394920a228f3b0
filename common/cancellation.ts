/**
 * Why a saga was cancelled, as a definition can report it (`onCancelled` in `workflows/saga/definition.ts`, run by
 * `workflows/saga/run-definition.ts`): who cancelled and whether a refund was issued, in the saga's state and as a
 * domain event. The shape is a zod schema in `shapes/cancellation.ts`; this module stays free of zod, because the
 * workflows import its values.
 */

/**
 * `customer`: a cancel request through the API (its actor is the API's principal); `operator`: a cancel request
 * from elsewhere (the `temporal` CLI, the Web UI: no actor sent); `system`: a step's failure.
 */
export const CancelledBy = { customer: 'customer', operator: 'operator', system: 'system' } as const;
export type CancelledBy = (typeof CancelledBy)[keyof typeof CancelledBy];

export type { SagaCancellation, CancellationFields } from './shapes/cancellation';

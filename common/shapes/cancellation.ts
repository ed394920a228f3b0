import { z } from 'zod';
import { CancelledBy as CancelledByValues } from '../cancellation';

/** What a saga whose definition reports its cancellation (`onCancelled`) records once it compensated. */
export const SagaCancellation = z.object({
  cancelledBy: z.enum(CancelledByValues).meta({
    description: '`customer` (a cancel through the API), `operator` (the CLI, the Web UI) or `system` (a step failed)',
  }),
  /** True when the refund's compensation took money back; false when nothing had been charged. */
  refundIssued: z.boolean(),
  /** The step that failed, or the one running when the saga was cancelled. */
  failureStep: z.string().nullable(),
  failureType: z.string(),
  /** Every sku that could not be reserved (an `OutOfStock` failure's detail); empty otherwise. */
  unavailableSkus: z.array(z.string()),
});
export type SagaCancellation = z.infer<typeof SagaCancellation>;

/** The state fields a saga with `onCancelled` must carry: null until it compensated. */
export const CancellationFields = z.object({ cancellation: SagaCancellation.nullable() });
export type CancellationFields = z.infer<typeof CancellationFields>;

import { z } from 'zod';
import { ApprovalDecision as Decisions } from '../approval';
import { Timestamp } from './primitives';

/** The state fields of a saga that waits for a person's approval (`common/approval.ts`). */

export const ApprovalDecision = z.enum(Decisions);

export const ApprovalFields = z.object({
  /** Set while the saga waits for `approve` or `reject`; `deadline` is an ISO timestamp. */
  pendingDecision: z.object({ deadline: Timestamp }).nullable(),
  decision: ApprovalDecision.nullable(),
  /** The reason given with `reject`, if any. */
  decisionReason: z.string().nullable(),
});
export type ApprovalFields = z.infer<typeof ApprovalFields>;

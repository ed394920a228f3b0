import { z } from 'zod';
import { Timestamp } from './primitives';

/** The customer loyalty workflow's state (its signal, query and id scheme: `common/loyalty.ts`). */

export const LoyaltyDiscount = z.object({
  /** 1 for the first discount, 2 for the second, ... */
  number: z.number().int(),
  /** The completed-order count that earned it (10, 20, ...). */
  orderCount: z.number().int(),
  percent: z.number(),
  /** Idempotency key and id of the discount: `loyalty-<customerId>:discount-<number>`. */
  id: z.string(),
  grantedAt: Timestamp,
});
export type LoyaltyDiscount = z.infer<typeof LoyaltyDiscount>;

export const LoyaltyState = z.object({
  customerId: z.string(),
  completedOrders: z.number().int(),
  discounts: z.array(LoyaltyDiscount),
});
export type LoyaltyState = z.infer<typeof LoyaltyState>;

import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LoyaltyDiscount, LoyaltyState } from './shapes/loyalty';

/**
 * Workflow type, id scheme, signal, query and input of the customer loyalty workflow: an entity
 * workflow, not a saga. One long-running workflow per customer holds that customer's loyalty state
 * (orders counted, discounts granted); it has no steps to compensate and no `getState` query (it
 * answers `getLoyaltyQuery`). Started by the first completed order (signal-with-start) and continued
 * as new before its history grows large. The names below (type `customerLoyalty`, id
 * `loyalty-<customerId>`, `orderCompleted`, `getLoyalty`) are in recorded histories and running
 * workflows: never rename them.
 */
export const CUSTOMER_LOYALTY = 'customerLoyalty';

export function loyaltyWorkflowId(customerId: string): string {
  return `loyalty-${customerId}`;
}

/** Every this many completed orders the customer is granted a discount. */
export const ORDERS_PER_DISCOUNT = 10;
/** The discount granted, in percent. */
export const LOYALTY_DISCOUNT_PERCENT = 10;
/**
 * How many recent order ids the workflow remembers to drop duplicate signals. Duplicates come from the
 * notifying activity being retried, seconds or minutes apart; a customer would have to complete this
 * many other orders in between for one to slip through. Bounded so that the state carried across
 * continue-as-new stays small for a customer of many years.
 */
export const RECENT_ORDER_IDS = 1000;
/** Continue as new after this many history events, unless the server suggests it earlier. */
export const DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 2000;

export interface OrderCompleted {
  orderId: string;
}

/** Sent (with start) by the order saga when an order completes. Duplicates are counted once. */
export const orderCompletedSignal = defineSignal<[OrderCompleted]>('orderCompleted');

// The state is a zod schema in `shapes/loyalty.ts`; this module stays free of zod (the workflows import it).
export type { LoyaltyDiscount, LoyaltyState } from './shapes/loyalty';

export const getLoyaltyQuery = defineQuery<LoyaltyState>('getLoyalty');

export interface CustomerLoyaltyInput {
  customerId: string;
  /** Carried across continue-as-new; absent on the first run. */
  carried?: {
    completedOrders: number;
    discounts: LoyaltyDiscount[];
    /** Most recent last, at most `RECENT_ORDER_IDS`. */
    recentOrderIds: string[];
  };
  /** History length after which the workflow continues as new (tests set it small). */
  continueAsNewAfterEvents?: number;
}

export function discountId(workflowId: string, n: number): string {
  return `${workflowId}:discount-${n}`;
}

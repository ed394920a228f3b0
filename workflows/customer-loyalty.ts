/**
 * The customer loyalty workflow: an entity workflow, not a saga. One per customer, running for as
 * long as the customer buys, it is the customer's loyalty record (orders counted, discounts granted)
 * and changes it only in response to signals.
 *
 *   orderCompleted(orderId) ──▶ seen recently? drop it : count it
 *   every 10th order         ──▶ grantLoyaltyDiscount (idempotent by loyalty-<customerId>:discount-<n>)
 *   history long enough      ──▶ wait for handlers, grant what is due, continue as new carrying the
 *                                count, the discounts and the recent order ids
 *
 * Started by the first completed order (the order saga's `recordCompletedOrder` activity uses
 * signal-with-start), so no completed order is missed. A signal is counted in its handler, in the
 * same workflow task that delivers it: it is in the state handed over by continue-as-new, and a
 * signal that arrives while the hand-over is being completed makes the server reject the hand-over
 * and deliver it to this run first.
 *
 * Why it is not a saga: there is no multi-step transaction to undo (a granted discount stays granted,
 * its grant is retried until done), so it does not use the compensation engine, has no `SagaStatus`
 * and does not answer `getState`; its query is `getLoyalty`.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
  discountId,
  getLoyaltyQuery,
  LOYALTY_DISCOUNT_PERCENT,
  orderCompletedSignal,
  ORDERS_PER_DISCOUNT,
  RECENT_ORDER_IDS,
  type CustomerLoyaltyInput,
  type LoyaltyState,
} from '../common/loyalty';
import { untilDoneCall } from './saga/policies';

const loyalty = proxyActivities<Activities>(untilDoneCall);

export async function customerLoyalty(input: CustomerLoyaltyInput): Promise<void> {
  const { customerId, carried } = input;
  const continueAsNewAfterEvents = input.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS;
  const state: LoyaltyState = {
    customerId,
    completedOrders: carried?.completedOrders ?? 0,
    discounts: [...(carried?.discounts ?? [])],
  };
  // Bounded memory of counted order ids, oldest first (see RECENT_ORDER_IDS for why bounded).
  const recentOrderIds = [...(carried?.recentOrderIds ?? [])];
  const seen = new Set(recentOrderIds);

  setHandler(getLoyaltyQuery, () => state);
  setHandler(orderCompletedSignal, ({ orderId }) => {
    if (seen.has(orderId)) {
      log.info('Duplicate orderCompleted signal ignored', { orderId });
      return;
    }
    seen.add(orderId);
    recentOrderIds.push(orderId);
    if (recentOrderIds.length > RECENT_ORDER_IDS) seen.delete(recentOrderIds.shift()!);
    state.completedOrders++;
  });

  const discountDue = () => Math.floor(state.completedOrders / ORDERS_PER_DISCOUNT) > state.discounts.length;
  const handOverDue = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= continueAsNewAfterEvents;

  for (;;) {
    await condition(() => discountDue() || handOverDue());
    while (discountDue()) {
      const number = state.discounts.length + 1;
      const id = discountId(workflowInfo().workflowId, number);
      const { value } = await loyalty.grantLoyaltyDiscount({
        id,
        customerId,
        number,
        percent: LOYALTY_DISCOUNT_PERCENT,
      });
      state.discounts.push({
        number,
        orderCount: number * ORDERS_PER_DISCOUNT,
        percent: LOYALTY_DISCOUNT_PERCENT,
        id,
        grantedAt: value.grantedAt,
      });
    }
    if (handOverDue()) {
      await condition(allHandlersFinished);
      if (discountDue()) continue; // a signal came in meanwhile: grant first, then hand over
      await continueAsNew<typeof customerLoyalty>({
        customerId,
        carried: { completedOrders: state.completedOrders, discounts: state.discounts, recentOrderIds },
        continueAsNewAfterEvents: input.continueAsNewAfterEvents,
      });
    }
  }
}

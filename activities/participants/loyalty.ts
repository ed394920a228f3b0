import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { CUSTOMER_LOYALTY, loyaltyWorkflowId, orderCompletedSignal } from '../../common/loyalty';
import { createRecord, type RecordStatuses } from '../../store/records';
import type { TransportCollections } from '../../store/transport-collections';

const discount: RecordStatuses = { active: 'GRANTED', reversed: 'REVOKED' };

export interface GrantDiscountInput {
  /** `loyalty-<customerId>:discount-<n>`: idempotency key and id of the discount. */
  id: string;
  customerId: string;
  number: number;
  percent: number;
}

export interface RecordCompletedOrderInput {
  customerId: string;
  orderId: string;
}

export function createLoyaltyActivities(
  { loyaltyDiscounts }: Pick<TransportCollections, 'loyaltyDiscounts'>,
  { temporal }: { temporal?: Client },
) {
  return {
    /**
     * Grants the customer's n-th loyalty discount. Idempotent by `id`: a retry or a replayed run
     * never grants it twice, and it answers with the time it was first granted.
     */
    async grantLoyaltyDiscount({
      id,
      customerId,
      number,
      percent,
    }: GrantDiscountInput): Promise<{ grantedAt: string }> {
      await createRecord(loyaltyDiscounts, discount, id, { customerId, number, percent, grantedAt: new Date() });
      const doc = await loyaltyDiscounts.findOne({ _id: id });
      if (!doc) throw new Error(`Discount ${id} vanished after it was recorded`);
      return { grantedAt: doc.grantedAt.toISOString() };
    },

    /**
     * Tells the customer's loyalty workflow that an order completed, starting it if it is not
     * running (signal-with-start, on this activity's task queue). At least once: the loyalty workflow
     * counts an order id once, so a retry is harmless. Retries on any failure.
     */
    async recordCompletedOrder({ customerId, orderId }: RecordCompletedOrderInput): Promise<{ workflowId: string }> {
      if (!temporal) throw new Error('The worker has no Temporal client: recordCompletedOrder cannot signal');
      const workflowId = loyaltyWorkflowId(customerId);
      await temporal.workflow.signalWithStart(CUSTOMER_LOYALTY, {
        workflowId,
        taskQueue: Context.current().info.taskQueue,
        args: [{ customerId }],
        signal: orderCompletedSignal,
        signalArgs: [{ orderId }],
        staticSummary: `Loyalty of customer ${customerId}`,
      });
      return { workflowId };
    },
  };
}

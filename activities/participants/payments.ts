import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import { BusinessFailure, participantFailure } from '../../common/failures';
import type { Collections } from '../../store/db';
import { createRecord, reverseRecord, type RecordStatuses } from '../../store/records';

const charge: RecordStatuses = { active: 'CHARGED', reversed: 'REFUNDED' };

/** The payment token our test gateway always declines. */
export const DECLINED_TOKEN = 'tok_declined';

export interface ProcessPaymentInput {
  key: string;
  orderId: string;
  customerId: string;
  amountCents: number;
  token: string;
}

export function createPaymentActivities({ payments }: Pick<Collections, 'payments'>) {
  return {
    /**
     * Charges the order total and records it in the payment ledger. Idempotent by `key`: a retry
     * never charges twice. The token itself is never stored or logged.
     * @throws non-retryable `PaymentDeclined`
     */
    async processPayment({
      key,
      orderId,
      customerId,
      amountCents,
      token,
    }: ProcessPaymentInput): Promise<EffectOutcome> {
      if (token === DECLINED_TOKEN) {
        throw participantFailure(
          'processPayment',
          BusinessFailure.PaymentDeclined,
          `Payment for order ${orderId} was declined`,
        );
      }
      return createRecord(payments, charge, key, { orderId, customerId, amountCents, chargedAt: new Date() });
    },

    /** Compensation of `processPayment`: refunds the charge, once. Idempotent by `key`. */
    async refundPayment({ key }: { key: string }): Promise<CompensationOutcome> {
      return reverseRecord(payments, charge, key, { refundedAt: new Date() });
    },
  };
}

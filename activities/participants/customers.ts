import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import { BusinessFailure, participantFailure } from '../../common/failures';
import { fromCents, type Collections } from '../../store/db';
import { applyHold, releaseHold, type HoldFields } from '../../store/holds';

const credit: HoldFields = { counter: 'creditAvailableCents', holds: 'creditHolds', released: 'creditReleased' };

export interface ReserveCreditInput {
  key: string;
  customerId: string;
  amountCents: number;
}

export interface ReleaseCreditInput {
  key: string;
  customerId: string;
}

export function createCreditActivities({ customers }: Pick<Collections, 'customers'>) {
  const col = customers as never;
  return {
    /**
     * Reserves the order total on the customer's available credit. Idempotent by `key`.
     * @throws non-retryable `UnknownCustomer`, `InsufficientCredit`
     */
    async reserveCredit({ key, customerId, amountCents }: ReserveCreditInput): Promise<EffectOutcome> {
      const outcome = await applyHold(col, credit, customerId, key, amountCents);
      if (outcome === 'not-found') {
        throw participantFailure(
          'reserveCredit',
          BusinessFailure.UnknownCustomer,
          `Customer ${customerId} does not exist`,
        );
      }
      if (outcome === 'insufficient') {
        throw participantFailure(
          'reserveCredit',
          BusinessFailure.InsufficientCredit,
          `Customer ${customerId} has less available credit than ${fromCents(amountCents)}`,
        );
      }
      return outcome;
    },

    /** Compensation of `reserveCredit`: gives the reserved amount back. Idempotent by `key`. */
    async releaseCredit({ key, customerId }: ReleaseCreditInput): Promise<CompensationOutcome> {
      return releaseHold(col, credit, customerId, key);
    },
  };
}

import { ApplicationFailure } from '@temporalio/common';
import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import { BusinessFailure } from '../../common/failures';
import { fromCents, type Collections, type CustomerDoc } from '../db';
import { applyHold, releaseHold, type HoldFields } from './holds';

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
        throw ApplicationFailure.nonRetryable(`Customer ${customerId} does not exist`, BusinessFailure.UnknownCustomer);
      }
      if (outcome === 'insufficient') {
        throw ApplicationFailure.nonRetryable(
          `Customer ${customerId} has less available credit than ${fromCents(amountCents)}`,
          BusinessFailure.InsufficientCredit,
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

/** Public view of a customer, as the API shows it (amounts in currency units). */
export interface Customer {
  id: string;
  name: string;
  creditLimit: number;
  creditAvailable: number;
}

export function toCustomer(doc: CustomerDoc): Customer {
  return {
    id: doc._id,
    name: doc.name,
    creditLimit: fromCents(doc.creditLimitCents),
    creditAvailable: fromCents(doc.creditAvailableCents),
  };
}

export function newCustomerDoc(id: string, name: string, creditLimitCents: number): CustomerDoc {
  return {
    _id: id,
    name,
    creditLimitCents,
    creditAvailableCents: creditLimitCents,
    creditHolds: {},
    creditReleased: {},
    createdAt: new Date(),
  };
}

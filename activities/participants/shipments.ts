import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import { BusinessFailure, participantFailure } from '../../common/failures';
import type { ShippingAddress } from '../../common/order';
import type { Collections } from '../../store/db';
import { createRecord, reverseRecord, type RecordStatuses } from '../../store/records';

const shipment: RecordStatuses = { active: 'CREATED', reversed: 'CANCELLED' };

export interface CreateShipmentInput {
  key: string;
  orderId: string;
  address: ShippingAddress;
  deliveryDate: string;
}

export function createShipmentActivities(
  { shipments }: Pick<Collections, 'shipments'>,
  { servedCountries }: { servedCountries: readonly string[] },
) {
  return {
    /**
     * Creates the shipment. Idempotent by `key`.
     * @throws non-retryable `ShipmentRejected` when the destination country is not served
     */
    async createShipment({ key, orderId, address, deliveryDate }: CreateShipmentInput): Promise<EffectOutcome> {
      if (!servedCountries.includes(address.country.toUpperCase())) {
        throw participantFailure(
          'createShipment',
          BusinessFailure.ShipmentRejected,
          `We do not ship to ${address.country}`,
        );
      }
      return createRecord(shipments, shipment, key, { orderId, address, deliveryDate, createdAt: new Date() });
    },

    /** Compensation of `createShipment`: cancels it. Idempotent by `key`. */
    async cancelShipment({ key }: { key: string }): Promise<CompensationOutcome> {
      return reverseRecord(shipments, shipment, key, { cancelledAt: new Date() });
    },
  };
}

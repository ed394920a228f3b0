import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import { BusinessFailure, participantFailure } from '../../common/failures';
import { fieldKey } from '../../store/keys';
import { serialized } from '../../store/serialize';
import type { TransportCollections } from '../../store/transport-collections';

export interface AddParcelInput {
  /** `transport-<orderId>:addParcel:<parcelId>` */
  key: string;
  parcelId: string;
  orderId: string;
}

export interface AddParcelResult {
  outcome: EffectOutcome;
  weightKg: number;
}

/**
 * Parcels go on one transport order at a time. Adding one is a conditional single-document update
 * (the parcel is free and this key was never removed); removing it frees the parcel and leaves a
 * tombstone under the key, so a late duplicate of the addition cannot land after its compensation.
 */
export function createParcelActivities({ parcels }: Pick<TransportCollections, 'parcels'>) {
  return {
    /**
     * Puts the parcel on the transport order and returns its weight. Idempotent by `key`.
     * @throws non-retryable `UnknownParcel`, `ParcelUnavailable` (it is on another transport order)
     */
    async addParcelToTransport({ key, parcelId, orderId }: AddParcelInput): Promise<AddParcelResult> {
      return serialized(`parcels:${parcelId}`, async () => {
        const removed = `removed.${fieldKey(key)}`;
        const result = await parcels.updateOne(
          { _id: parcelId, addedBy: null, [removed]: { $exists: false } },
          { $set: { transportOrderId: orderId, addedBy: key } },
        );
        const doc = await parcels.findOne({ _id: parcelId });
        if (!doc) {
          throw participantFailure(
            'addParcelToTransport',
            BusinessFailure.UnknownParcel,
            `Parcel ${parcelId} does not exist`,
          );
        }
        if (doc.addedBy === key) {
          return { outcome: result.modifiedCount === 1 ? 'applied' : 'already-applied', weightKg: doc.weightKg };
        }
        if (doc.removed[fieldKey(key)] !== undefined) return { outcome: 'compensated', weightKg: doc.weightKg };
        throw participantFailure(
          'addParcelToTransport',
          BusinessFailure.ParcelUnavailable,
          `Parcel ${parcelId} is already on transport order ${doc.transportOrderId ?? '(unknown)'}`,
        );
      });
    },

    /** Compensation of `addParcelToTransport`: takes the parcel off the order. Idempotent by `key`. */
    async removeParcelFromTransport({ key, parcelId }: AddParcelInput): Promise<CompensationOutcome> {
      return serialized(`parcels:${parcelId}`, async () => {
        const removed = `removed.${fieldKey(key)}`;
        for (let pass = 0; pass < 8; pass++) {
          const undo = await parcels.updateOne(
            { _id: parcelId, addedBy: key },
            { $set: { transportOrderId: null, addedBy: null, [removed]: new Date() } },
          );
          if (undo.modifiedCount === 1) return 'undone';
          const doc = await parcels.findOne({ _id: parcelId });
          if (!doc) return 'nothing-to-undo';
          if (doc.removed[fieldKey(key)] !== undefined) return 'already-undone';
          const tombstone = await parcels.updateOne(
            { _id: parcelId, addedBy: { $ne: key }, [removed]: { $exists: false } },
            { $set: { [removed]: new Date() } },
          );
          if (tombstone.modifiedCount === 1) return 'nothing-to-undo';
        }
        throw new Error(`Could not remove parcel ${parcelId} for ${key}: the document kept changing`);
      });
    },
  };
}

import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import { BusinessFailure, participantFailure } from '../../common/failures';
import type { TransportPriority } from '../../common/transport';
import { fieldKey } from '../../store/keys';
import { serialized } from '../../store/serialize';
import type { TransportCollections } from '../../store/transport-collections';

/** How far ahead the earliest free date is looked for. */
export const RESERVATION_HORIZON_DAYS = 366;

export interface ChosenVehicle {
  vehicleId: string;
  priceCents: number;
}

export interface ReserveVehicleResourceInput {
  /** `transport-<orderId>:reserveVehicleResource` */
  key: string;
  orderId: string;
  vehicleId: string;
  /** `YYYY-MM-DD`: the first date that may be reserved. */
  fromDate: string;
  priority: TransportPriority;
}

export type ReserveVehicleResourceResult =
  { outcome: Exclude<EffectOutcome, 'compensated'>; date: string } | { outcome: 'compensated'; date: null };

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * Transport vehicles are resources booked by the day: each date serves one transport order, and the
 * reservation records its priority for dispatch. A reservation and its tombstone live in the same
 * vehicle document (the vehicle is chosen before it is reserved), so one conditional update decides.
 */
export function createTransportVehicleActivities({
  transportVehicles,
}: Pick<TransportCollections, 'transportVehicles'>) {
  return {
    /**
     * Picks the vehicle with the lowest price per service among those whose capacity holds the
     * parcels' total weight (ties: lowest id). Reads only.
     * @throws non-retryable `NoVehicleAvailable`
     */
    async chooseVehicle({ totalWeightKg }: { totalWeightKg: number }): Promise<ChosenVehicle> {
      const [best] = await transportVehicles
        .find({ capacityKg: { $gte: totalWeightKg } })
        .sort({ pricePerServiceCents: 1, _id: 1 })
        .limit(1)
        .toArray();
      if (!best) {
        throw participantFailure(
          'chooseVehicle',
          BusinessFailure.NoVehicleAvailable,
          `No transport vehicle can carry ${totalWeightKg} kg`,
        );
      }
      return { vehicleId: best._id, priceCents: best.pricePerServiceCents };
    },

    /**
     * Reserves the vehicle on its earliest free date from `fromDate`, with the given priority.
     * Idempotent by `key`.
     * @throws non-retryable `NoVehicleAvailable` when the vehicle is gone or booked for the whole horizon
     */
    async reserveVehicleResource({
      key,
      orderId,
      vehicleId,
      fromDate,
      priority,
    }: ReserveVehicleResourceInput): Promise<ReserveVehicleResourceResult> {
      return serialized(`transportVehicles:${vehicleId}`, async () => {
        const k = fieldKey(key);
        let doc = await transportVehicles.findOne({ _id: vehicleId });
        // Each pass moves a day on or sees a concurrent change; the bound only guards against a loop.
        for (
          let day = 0, pass = 0;
          doc && day < RESERVATION_HORIZON_DAYS && pass < 2 * RESERVATION_HORIZON_DAYS;
          pass++
        ) {
          if (doc.released[k] !== undefined) return { outcome: 'compensated', date: null };
          const mine = doc.reservedBy[k];
          if (mine !== undefined) return { outcome: 'already-applied', date: mine };
          const date = addDays(fromDate, day);
          if (doc.reservations[date] !== undefined) {
            day++;
            continue;
          }
          const booked = await transportVehicles.updateOne(
            {
              _id: vehicleId,
              [`reservations.${date}`]: { $exists: false },
              [`reservedBy.${k}`]: { $exists: false },
              [`released.${k}`]: { $exists: false },
            },
            { $set: { [`reservations.${date}`]: { key, orderId, priority }, [`reservedBy.${k}`]: date } },
          );
          if (booked.modifiedCount === 1) return { outcome: 'applied', date };
          doc = await transportVehicles.findOne({ _id: vehicleId }); // someone else was faster: look again
        }
        throw participantFailure(
          'reserveVehicleResource',
          BusinessFailure.NoVehicleAvailable,
          doc
            ? `Vehicle ${vehicleId} has no free date in the next ${RESERVATION_HORIZON_DAYS} days`
            : `Vehicle ${vehicleId} does not exist`,
        );
      });
    },

    /** Compensation of `reserveVehicleResource`: frees the date. Idempotent by `key`. */
    async releaseVehicleResource({ key, vehicleId }: ReserveVehicleResourceInput): Promise<CompensationOutcome> {
      return serialized(`transportVehicles:${vehicleId}`, async () => {
        const k = fieldKey(key);
        for (let pass = 0; pass < 8; pass++) {
          const doc = await transportVehicles.findOne({ _id: vehicleId });
          if (!doc) return 'nothing-to-undo';
          const date = doc.reservedBy[k];
          if (date !== undefined) {
            const undo = await transportVehicles.updateOne(
              { _id: vehicleId, [`reservedBy.${k}`]: date },
              {
                $unset: { [`reservations.${date}`]: '', [`reservedBy.${k}`]: '' },
                $set: { [`released.${k}`]: new Date() },
              },
            );
            if (undo.modifiedCount === 1) return 'undone';
            continue;
          }
          if (doc.released[k] !== undefined) return 'already-undone';
          const tombstone = await transportVehicles.updateOne(
            { _id: vehicleId, [`reservedBy.${k}`]: { $exists: false }, [`released.${k}`]: { $exists: false } },
            { $set: { [`released.${k}`]: new Date() } },
          );
          if (tombstone.modifiedCount === 1) return 'nothing-to-undo';
        }
        throw new Error(`Could not release vehicle ${vehicleId} for ${key}: the document kept changing`);
      });
    },
  };
}

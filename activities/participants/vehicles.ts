import type { Filter } from 'mongodb';
import type { CompensationOutcome } from '../../common/attempted';
import { BusinessFailure, participantFailure } from '../../common/failures';
import type { Collections, VehicleDoc } from '../../store/db';
import { isDuplicateKey } from '../../store/duplicate-key';
import { fieldKey } from '../../store/keys';
import { serialized } from '../../store/serialize';

export interface ReserveVehicleInput {
  key: string;
  deliveryDate: string;
}

export type ReserveVehicleResult =
  { outcome: 'applied' | 'already-applied'; vehicleId: string } | { outcome: 'compensated'; vehicleId: null };

/**
 * A booking can land on any vehicle, so its tombstone cannot live in one vehicle's document. The
 * release writes a tombstone first and then removes any booking; the reservation books first and
 * then looks for a tombstone, undoing itself when it finds one. Whichever runs second sees the
 * other's write, so a late duplicate never leaves a booking behind.
 */
export function createVehicleActivities({
  vehicles,
  vehicleReleases,
}: Pick<Collections, 'vehicles' | 'vehicleReleases'>) {
  async function unbook(vehicleId: string, path: string, date: string): Promise<boolean> {
    const result = await vehicles.updateOne(
      { _id: vehicleId, [path]: date },
      { $inc: { [`load.${date}`]: -1 }, $unset: { [path]: '' } },
    );
    return result.modifiedCount === 1;
  }

  async function bookingsOf(path: string) {
    return vehicles
      .find({ [path]: { $exists: true } } as Filter<VehicleDoc>)
      .sort({ _id: 1 })
      .toArray();
  }

  // Bookings may land on any vehicle: they are serialized across the whole collection.
  const one = <T>(fn: () => Promise<T>) => serialized(vehicles.collectionName, fn);

  return {
    /**
     * Books a delivery slot on the first vehicle (by id) with free capacity on the delivery date.
     * Idempotent by `key`.
     * @throws non-retryable `NoVehicleAvailable`
     */
    reserveVehicle: ({ key, deliveryDate }: ReserveVehicleInput): Promise<ReserveVehicleResult> =>
      one(async () => {
        const path = `bookings.${fieldKey(key)}`;
        if (await vehicleReleases.findOne({ _id: key })) return { outcome: 'compensated', vehicleId: null };
        const existing = await bookingsOf(path);
        if (existing[0]) return { outcome: 'already-applied', vehicleId: existing[0]._id };

        const load = `load.${deliveryDate}`;
        const candidates = await vehicles
          .find({}, { projection: { _id: 1, capacityPerDay: 1 } })
          .sort({ _id: 1 })
          .toArray();
        for (const { _id, capacityPerDay } of candidates) {
          const booked = await vehicles.updateOne(
            {
              _id,
              capacityPerDay,
              [path]: { $exists: false },
              $or: [{ [load]: { $lt: capacityPerDay } }, { [load]: { $exists: false } }],
            },
            { $inc: { [load]: 1 }, $set: { [path]: deliveryDate } },
          );
          if (booked.modifiedCount !== 1) continue;
          if (await vehicleReleases.findOne({ _id: key })) {
            await unbook(_id, path, deliveryDate);
            return { outcome: 'compensated', vehicleId: null };
          }
          // A concurrent duplicate may have booked another vehicle: the lowest id keeps the booking.
          const all = await bookingsOf(path);
          const keeper = all[0]?._id ?? _id;
          if (keeper !== _id) await unbook(_id, path, deliveryDate);
          return { outcome: keeper === _id ? 'applied' : 'already-applied', vehicleId: keeper };
        }
        // A concurrent duplicate may have taken the last slot with this very key.
        const booked = await bookingsOf(path);
        if (booked[0]) return { outcome: 'already-applied', vehicleId: booked[0]._id };
        throw participantFailure(
          'reserveVehicle',
          BusinessFailure.NoVehicleAvailable,
          `No vehicle has room on ${deliveryDate}`,
        );
      }),

    /** Compensation of `reserveVehicle`: frees the booked slot. Idempotent by `key`. */
    releaseVehicle: ({ key }: ReserveVehicleInput): Promise<CompensationOutcome> =>
      one(async () => {
        const path = `bookings.${fieldKey(key)}`;
        let firstRelease = true;
        try {
          await vehicleReleases.insertOne({ _id: key, releasedAt: new Date() });
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          firstRelease = false;
        }
        let undone = false;
        for (const vehicle of await bookingsOf(path)) {
          const date = vehicle.bookings[fieldKey(key)];
          if (date !== undefined && (await unbook(vehicle._id, path, date))) undone = true;
        }
        if (undone) return 'undone';
        return firstRelease ? 'nothing-to-undo' : 'already-undone';
      }),
  };
}

import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import { createRecord, reverseRecord, type RecordStatuses } from '../../store/records';
import { serialized } from '../../store/serialize';
import type { TransportCollections } from '../../store/transport-collections';

const transportOrder: RecordStatuses = { active: 'CREATED', reversed: 'CANCELLED' };

export interface CreateTransportOrderInput {
  /** `transport-<orderId>:createTransportOrder`; also the id of the stored transport order. */
  key: string;
  orderId: string;
  customerId: string;
}

export interface AssignVehicleInput {
  /** The key the transport order was created with. */
  orderKey: string;
  vehicleId: string;
  date: string;
}

/**
 * The transport order record. Creating it is an upsert by key that never overwrites; cancelling it
 * leaves it `CANCELLED` (or a `VOIDED` tombstone when it never existed). It carries at most one vehicle.
 */
export function createTransportOrderActivities({ transportOrders }: Pick<TransportCollections, 'transportOrders'>) {
  return {
    /** Creates the transport order record. Idempotent by `key`. */
    async createTransportOrder({ key, orderId, customerId }: CreateTransportOrderInput): Promise<EffectOutcome> {
      return createRecord(transportOrders, transportOrder, key, {
        orderId,
        customerId,
        vehicle: null,
        createdAt: new Date(),
      });
    },

    /** Compensation of `createTransportOrder`: cancels the record. Idempotent by `key`. */
    async cancelTransportOrder({ key }: { key: string }): Promise<CompensationOutcome> {
      return reverseRecord(transportOrders, transportOrder, key, { cancelledAt: new Date() });
    },

    /**
     * Assigns the reserved vehicle to the transport order. Idempotent: the order has one vehicle slot,
     * and once unassigned (its compensation ran) a late duplicate does not land.
     */
    async assignVehicle({ orderKey, vehicleId, date }: AssignVehicleInput): Promise<EffectOutcome> {
      return serialized(`transportOrders:${orderKey}`, async () => {
        const result = await transportOrders.updateOne(
          { _id: orderKey, status: transportOrder.active, vehicle: null, vehicleUnassignedAt: { $exists: false } },
          { $set: { vehicle: { id: vehicleId, date } } },
        );
        if (result.modifiedCount === 1) return 'applied';
        const doc = await transportOrders.findOne({ _id: orderKey });
        // The saga creates the record before it assigns; a missing one is an infrastructure problem: retry.
        if (!doc) throw new Error(`Transport order ${orderKey} is not there yet`);
        if (doc.vehicle?.id === vehicleId && doc.vehicle.date === date) return 'already-applied';
        if (doc.status !== transportOrder.active || doc.vehicleUnassignedAt) return 'compensated';
        throw new Error(`Transport order ${orderKey} already has vehicle ${doc.vehicle?.id ?? '(none)'}`);
      });
    },

    /** Compensation of `assignVehicle`: takes the vehicle off the order for good. Idempotent. */
    async unassignVehicle({ orderKey }: AssignVehicleInput): Promise<CompensationOutcome> {
      return serialized(`transportOrders:${orderKey}`, async () => {
        const doc = await transportOrders.findOne({ _id: orderKey });
        if (!doc) return 'nothing-to-undo';
        if (doc.vehicleUnassignedAt) return 'already-undone';
        await transportOrders.updateOne(
          { _id: orderKey, vehicleUnassignedAt: { $exists: false } },
          { $set: { vehicle: null, vehicleUnassignedAt: new Date() } },
        );
        return doc.vehicle ? 'undone' : 'nothing-to-undo';
      });
    },
  };
}

import type { Db } from 'mongodb';
import type { TransportPriority } from '../common/transport';

/** Documents of the transport participants, as stored. Amounts are integer cents. */
export interface ParcelDoc {
  _id: string;
  weightKg: number;
  /** Transport order the parcel is on, or null. */
  transportOrderId: string | null;
  /** Idempotency key of the addition that put it there, or null. */
  addedBy: string | null;
  /** `idempotency key -> date` of removed additions (tombstones). */
  removed: Record<string, Date>;
  createdAt: Date;
}

export interface TransportVehicleDoc {
  _id: string;
  name: string;
  capacityKg: number;
  pricePerServiceCents: number;
  /** `YYYY-MM-DD -> reservation`: the vehicle serves one transport order a day. */
  reservations: Record<string, { key: string; orderId: string; priority: TransportPriority }>;
  /** `idempotency key -> YYYY-MM-DD` of the reservations in force. */
  reservedBy: Record<string, string>;
  /** `idempotency key -> date` of released reservations (tombstones). */
  released: Record<string, Date>;
  createdAt: Date;
}

export interface TransportOrderDoc {
  _id: string; // idempotency key of the creation: `transport-<orderId>:createTransportOrder`
  status: string; // CREATED | CANCELLED | VOIDED
  orderId: string;
  customerId: string;
  vehicle: { id: string; date: string } | null;
  /** Set when the vehicle was unassigned: a late duplicate assignment must not land after that. */
  vehicleUnassignedAt?: Date;
  createdAt: Date;
  cancelledAt?: Date;
}

export interface LoyaltyDiscountDoc {
  _id: string; // `loyalty-<customerId>:discount-<n>`
  status: string; // GRANTED
  customerId: string;
  number: number;
  percent: number;
  grantedAt: Date;
}

export function transportCollections(db: Db) {
  return {
    parcels: db.collection<ParcelDoc>('parcels'),
    transportVehicles: db.collection<TransportVehicleDoc>('transportVehicles'),
    transportOrders: db.collection<TransportOrderDoc>('transportOrders'),
    loyaltyDiscounts: db.collection<LoyaltyDiscountDoc>('loyaltyDiscounts'),
  };
}
export type TransportCollections = ReturnType<typeof transportCollections>;

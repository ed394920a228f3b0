import { MongoClient, type Db } from 'mongodb';

/** Documents of the participants, as stored. Amounts are integer cents. */
export interface CustomerDoc {
  _id: string;
  name: string;
  creditLimitCents: number;
  creditAvailableCents: number;
  /** `idempotency key -> cents` of the credit reservations in force. */
  creditHolds: Record<string, number>;
  /** `idempotency key -> date` of released reservations (tombstones). */
  creditReleased: Record<string, Date>;
  createdAt: Date;
}

export interface ProductDoc {
  _id: string; // sku
  name: string;
  priceCents: number;
  stock: number;
  stockHolds: Record<string, number>;
  stockReleased: Record<string, Date>;
  createdAt: Date;
}

export interface PaymentDoc {
  _id: string; // idempotency key
  status: string; // CHARGED | REFUNDED | VOIDED
  orderId: string;
  customerId: string;
  amountCents: number;
  chargedAt: Date;
  refundedAt?: Date;
}

export interface ShipmentDoc {
  _id: string; // idempotency key
  status: string; // CREATED | CANCELLED | VOIDED
  orderId: string;
  address: { line1: string; city: string; postalCode: string; country: string };
  deliveryDate: string;
  createdAt: Date;
  cancelledAt?: Date;
}

export interface VehicleDoc {
  _id: string;
  name: string;
  capacityPerDay: number;
  /** `YYYY-MM-DD -> deliveries booked` */
  load: Record<string, number>;
  /** `idempotency key -> YYYY-MM-DD` of the bookings in force. */
  bookings: Record<string, string>;
  createdAt: Date;
}

/** Tombstone of a released vehicle booking, keyed by the idempotency key. */
export interface VehicleReleaseDoc {
  _id: string;
  releasedAt: Date;
}

export function collections(db: Db) {
  return {
    customers: db.collection<CustomerDoc>('customers'),
    products: db.collection<ProductDoc>('products'),
    payments: db.collection<PaymentDoc>('payments'),
    shipments: db.collection<ShipmentDoc>('shipments'),
    vehicles: db.collection<VehicleDoc>('vehicles'),
    vehicleReleases: db.collection<VehicleReleaseDoc>('vehicleReleases'),
  };
}
export type Collections = ReturnType<typeof collections>;

/** Whole currency units (at most two decimals) to integer cents, and back. */
export const toCents = (amount: number): number => Math.round(amount * 100);
export const fromCents = (cents: number): number => cents / 100;

/** One client, one pool, shared by all participants in a process. */
export async function connectMongo(uri: string, dbName: string): Promise<{ client: MongoClient; db: Db }> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000, maxPoolSize: 20, appName: 'durable-sagas' });
  await client.connect();
  return { client, db: client.db(dbName) };
}

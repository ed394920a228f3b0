import type { Customer, Parcel, Product, TransportVehicle, Vehicle } from '../common/shapes/participants';
import { fromCents, type CustomerDoc, type ProductDoc, type VehicleDoc } from './db';
import type { ParcelDoc, TransportVehicleDoc } from './transport-collections';

/**
 * The participants' public views (as the API shows them, amounts in currency units) and the documents a
 * new participant starts as. The views' shapes are zod schemas in `common/shapes/participants.ts`.
 */
export type { Customer, Parcel, Product, TransportVehicle, Vehicle };

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

export function toProduct(doc: ProductDoc): Product {
  return { sku: doc._id, name: doc.name, price: fromCents(doc.priceCents), stock: doc.stock };
}

export function newProductDoc(sku: string, name: string, priceCents: number, stockCount: number): ProductDoc {
  return { _id: sku, name, priceCents, stock: stockCount, stockHolds: {}, stockReleased: {}, createdAt: new Date() };
}

export function toVehicle(doc: VehicleDoc): Vehicle {
  return { id: doc._id, name: doc.name, capacityPerDay: doc.capacityPerDay };
}

export function newVehicleDoc(id: string, name: string, capacityPerDay: number): VehicleDoc {
  return { _id: id, name, capacityPerDay, load: {}, bookings: {}, createdAt: new Date() };
}

export function toParcel(doc: ParcelDoc): Parcel {
  return { id: doc._id, weightKg: doc.weightKg, transportOrderId: doc.transportOrderId };
}

export function newParcelDoc(id: string, weightKg: number): ParcelDoc {
  return { _id: id, weightKg, transportOrderId: null, addedBy: null, removed: {}, createdAt: new Date() };
}

export function toTransportVehicle(doc: TransportVehicleDoc): TransportVehicle {
  return {
    id: doc._id,
    name: doc.name,
    capacityKg: doc.capacityKg,
    pricePerService: fromCents(doc.pricePerServiceCents),
    reservations: Object.entries(doc.reservations)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([date, r]) => ({ date, orderId: r.orderId, priority: r.priority })),
  };
}

export function newTransportVehicleDoc(
  id: string,
  name: string,
  capacityKg: number,
  pricePerServiceCents: number,
): TransportVehicleDoc {
  return {
    _id: id,
    name,
    capacityKg,
    pricePerServiceCents,
    reservations: {},
    reservedBy: {},
    released: {},
    createdAt: new Date(),
  };
}

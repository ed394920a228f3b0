import type { TransportPriority } from '../common/transport';
import { fromCents, type CustomerDoc, type ProductDoc, type VehicleDoc } from './db';
import type { ParcelDoc, TransportVehicleDoc } from './transport-collections';

/**
 * The participants' public views (as the API shows them, amounts in currency units) and the documents a
 * new participant starts as.
 */

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

export interface Product {
  sku: string;
  name: string;
  price: number;
  stock: number;
}

export function toProduct(doc: ProductDoc): Product {
  return { sku: doc._id, name: doc.name, price: fromCents(doc.priceCents), stock: doc.stock };
}

export function newProductDoc(sku: string, name: string, priceCents: number, stockCount: number): ProductDoc {
  return { _id: sku, name, priceCents, stock: stockCount, stockHolds: {}, stockReleased: {}, createdAt: new Date() };
}

export interface Vehicle {
  id: string;
  name: string;
  capacityPerDay: number;
}

export function toVehicle(doc: VehicleDoc): Vehicle {
  return { id: doc._id, name: doc.name, capacityPerDay: doc.capacityPerDay };
}

export function newVehicleDoc(id: string, name: string, capacityPerDay: number): VehicleDoc {
  return { _id: id, name, capacityPerDay, load: {}, bookings: {}, createdAt: new Date() };
}

/** Public view of a parcel, as the API shows it. */
export interface Parcel {
  id: string;
  weightKg: number;
  /** The transport order it is on, or null. */
  transportOrderId: string | null;
}

export function toParcel(doc: ParcelDoc): Parcel {
  return { id: doc._id, weightKg: doc.weightKg, transportOrderId: doc.transportOrderId };
}

export function newParcelDoc(id: string, weightKg: number): ParcelDoc {
  return { _id: id, weightKg, transportOrderId: null, addedBy: null, removed: {}, createdAt: new Date() };
}

/** Public view of a transport vehicle, as the API shows it (price in currency units). */
export interface TransportVehicle {
  id: string;
  name: string;
  capacityKg: number;
  pricePerService: number;
  /** Reserved dates, earliest first. */
  reservations: { date: string; orderId: string; priority: TransportPriority }[];
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

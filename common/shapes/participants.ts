import { z } from 'zod';
import { TransportPriority } from './transport';

/** The participants' public views, as the API shows them (amounts in currency units); built by `store/views.ts`. */

export const Customer = z.object({
  id: z.string(),
  name: z.string(),
  creditLimit: z.number(),
  creditAvailable: z.number(),
});
export type Customer = z.infer<typeof Customer>;

export const Product = z.object({ sku: z.string(), name: z.string(), price: z.number(), stock: z.number().int() });
export type Product = z.infer<typeof Product>;

export const Vehicle = z.object({ id: z.string(), name: z.string(), capacityPerDay: z.number().int() });
export type Vehicle = z.infer<typeof Vehicle>;

export const Parcel = z.object({
  id: z.string(),
  weightKg: z.number(),
  /** The transport order the parcel is on, or null. */
  transportOrderId: z.string().nullable(),
});
export type Parcel = z.infer<typeof Parcel>;

export const TransportVehicle = z.object({
  id: z.string(),
  name: z.string(),
  capacityKg: z.number(),
  pricePerService: z.number(),
  /** Reserved dates (`YYYY-MM-DD`), earliest first. */
  reservations: z.array(z.object({ date: z.string(), orderId: z.string(), priority: TransportPriority })),
});
export type TransportVehicle = z.infer<typeof TransportVehicle>;

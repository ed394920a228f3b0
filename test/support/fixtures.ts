import { randomUUID } from 'node:crypto';
import type { Harness } from './harness';
import { http } from './harness';

export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export interface Seeded {
  customerId: string;
  sku: string;
}

/** Creates a customer and a product through the API. */
export async function seed(h: Harness, { creditLimit = 1000, price = 10, stock = 100 } = {}): Promise<Seeded> {
  const customerId = unique('cust');
  const sku = unique('sku');
  const c = await http(h.baseUrl, 'POST', '/customers', { id: customerId, name: 'Test Customer', creditLimit });
  const p = await http(h.baseUrl, 'POST', '/products', { sku, name: 'Test Product', price, stock });
  if (c.status !== 201 || p.status !== 201) throw new Error(`seeding failed: ${c.status} ${p.status}`);
  return { customerId, sku };
}

export async function addVehicle(h: Harness, capacityPerDay: number): Promise<string> {
  const id = unique('van');
  const v = await http(h.baseUrl, 'POST', '/vehicles', { id, name: 'Van', capacityPerDay });
  if (v.status !== 201) throw new Error(`vehicle seeding failed: ${v.status}`);
  return id;
}

export function orderBody(
  s: Seeded,
  overrides: { orderId?: string; quantity?: number; token?: string; country?: string; deliveryDate?: string } = {},
) {
  return {
    orderId: overrides.orderId ?? unique('ord'),
    customerId: s.customerId,
    items: [{ sku: s.sku, quantity: overrides.quantity ?? 2 }],
    payment: { token: overrides.token ?? 'tok_visa' },
    shippingAddress: {
      line1: '1 Main Street',
      city: 'Dublin',
      postalCode: 'D01 F5P2',
      country: overrides.country ?? 'IE',
    },
    deliveryDate: overrides.deliveryDate ?? '2027-01-15',
  };
}

/** What the participants hold for one customer, product, delivery date and order. */
export async function snapshot(h: Harness, s: Seeded, deliveryDate: string, orderId?: string) {
  const customer = await h.cols.customers.findOne({ _id: s.customerId });
  const product = await h.cols.products.findOne({ _id: s.sku });
  const vehicles = await h.cols.vehicles.find({}).toArray();
  const prefix = orderId ? `order-${orderId}:` : undefined;
  const payments = prefix ? await h.cols.payments.find({ _id: { $regex: `^${prefix}` } }).toArray() : [];
  const shipments = prefix ? await h.cols.shipments.find({ _id: { $regex: `^${prefix}` } }).toArray() : [];
  return {
    creditAvailableCents: customer?.creditAvailableCents,
    stock: product?.stock,
    vehicleLoad: vehicles.reduce((sum, v) => sum + (v.load[deliveryDate] ?? 0), 0),
    chargedCents: payments.filter((p) => p.status === 'CHARGED').reduce((sum, p) => sum + p.amountCents, 0),
    liveShipments: shipments.filter((x) => x.status === 'CREATED').length,
  };
}

import { z } from 'zod';
import { Count, Id, IsoDate, Money, Name } from './validation';

export const CreateCustomer = z.strictObject({ id: Id.optional(), name: Name, creditLimit: Money });
export const CreateProduct = z.strictObject({ sku: Id, name: Name, price: Money, stock: Count(1_000_000_000) });
export const CreateVehicle = z.strictObject({
  id: Id.optional(),
  name: Name,
  capacityPerDay: Count(100_000).min(1, 'must be at least 1'),
});

const Text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const ShippingAddress = z.strictObject({
  line1: Text(200),
  city: Text(100),
  postalCode: Text(20),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code')
    .transform((c) => c.toUpperCase()),
});

export const OrderItem = z.strictObject({
  sku: Id,
  quantity: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000'),
});

export const CreateOrder = z.strictObject({
  orderId: Id.optional(),
  customerId: Id,
  items: z.array(OrderItem).min(1, 'must have at least one item').max(100, 'must have at most 100 items'),
  payment: z.strictObject({ token: Text(200) }),
  shippingAddress: ShippingAddress,
  deliveryDate: IsoDate,
});
export type CreateOrder = z.infer<typeof CreateOrder>;

export const IdParam = z.strictObject({ id: Id });
export const SkuParam = z.strictObject({ sku: Id });
export const OrderIdParam = z.strictObject({ orderId: Id });

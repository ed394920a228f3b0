import { z } from 'zod';
import { Id, IsoDate, Text } from './primitives';
import { SagaState } from './saga-state';

/** The order saga's input and state (its workflow type, id scheme and steps: `common/order.ts`). */

export const OrderItem = z.strictObject({
  sku: Id,
  quantity: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000'),
});
export type OrderItem = z.infer<typeof OrderItem>;

export const ShippingAddress = z.strictObject({
  line1: Text(200),
  city: Text(100),
  postalCode: Text(20),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code')
    .transform((c) => c.toUpperCase()),
});
export type ShippingAddress = z.infer<typeof ShippingAddress>;

export const OrderSagaInput = z.strictObject({
  orderId: Id,
  customerId: Id,
  items: z.array(OrderItem).min(1, 'must have at least one item').max(100, 'must have at most 100 items'),
  payment: z.strictObject({ token: Text(200) }),
  shippingAddress: ShippingAddress,
  /** `YYYY-MM-DD` */
  deliveryDate: IsoDate,
});
export type OrderSagaInput = z.infer<typeof OrderSagaInput>;

export const OrderState = SagaState.extend({
  orderId: z.string(),
  customerId: z.string(),
  /** Order total in currency units, computed from stored prices; null until priced. */
  total: z.number().nullable(),
});
export type OrderState = z.infer<typeof OrderState>;

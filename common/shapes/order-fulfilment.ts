import { z } from 'zod';
import { CancellationFields } from './cancellation';
import { Id, IsoDate, Text } from './primitives';
import { OrderItem, ShippingAddress } from './order';
import { SagaState } from './saga-state';

/**
 * The order-fulfilment saga's input (an `OrderPlaced` message's body) and state; its workflow type, id scheme and
 * steps: `common/order-fulfilment.ts`.
 */
export const OrderFulfilmentInput = z.strictObject({
  orderId: Id,
  customerId: Id,
  items: z.array(OrderItem).min(1, 'must have at least one item').max(100, 'must have at most 100 items'),
  payment: z.strictObject({ token: Text(200) }),
  shippingAddress: ShippingAddress,
  /** `YYYY-MM-DD` */
  deliveryDate: IsoDate,
});
export type OrderFulfilmentInput = z.infer<typeof OrderFulfilmentInput>;

export const OrderFulfilmentState = SagaState.extend({
  orderId: z.string(),
  customerId: z.string(),
  /** Order total in currency units, from stored prices; null until priced. */
  total: z.number().nullable(),
}).extend(CancellationFields.shape);
export type OrderFulfilmentState = z.infer<typeof OrderFulfilmentState>;

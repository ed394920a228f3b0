/**
 * The order-fulfilment saga: its definition (`definitions/order-fulfilment.ts`) run by the one interpreter on the one
 * compensation engine. Reserves every line's stock, charges, ships; undone in reverse order on any failure or a
 * cancellation, then reports `OrderCancelled` (who cancelled, whether a refund was issued, every unavailable sku).
 */
import type { OrderFulfilmentInput, OrderFulfilmentState } from '../common/order-fulfilment';
import { orderFulfilmentDefinition } from './definitions/order-fulfilment';
import { runDefinition } from './saga/run-definition';

export async function orderFulfilment(input: OrderFulfilmentInput): Promise<OrderFulfilmentState> {
  return runDefinition(orderFulfilmentDefinition, input);
}

/** Workflow type, id scheme and input of the order saga. */
export const ORDER_SAGA = 'orderSaga';

export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

// The shapes are zod schemas in `shapes/order.ts`; this module stays free of zod (the workflows import it).
export type { OrderItem, OrderSagaInput, OrderState, ShippingAddress } from './shapes/order';

/** The step names of the order saga, in the order they run. */
export const OrderStep = {
  priceOrder: 'priceOrder',
  reserveCredit: 'reserveCredit',
  reserveInventory: 'reserveInventory',
  processPayment: 'processPayment',
  createShipment: 'createShipment',
  reserveVehicle: 'reserveVehicle',
} as const;

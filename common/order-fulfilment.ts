/** Workflow type, id scheme and steps of the order-fulfilment saga (docs/adding-a-saga.md). */
export const ORDER_FULFILMENT = 'orderFulfilment';

export function fulfilmentWorkflowId(orderId: string): string {
  return `fulfilment-${orderId}`;
}

// The shapes are zod schemas in `shapes/order-fulfilment.ts`; this module stays free of zod (the workflows import it).
export type { OrderFulfilmentInput, OrderFulfilmentState } from './shapes/order-fulfilment';

/** The step names of the order-fulfilment saga, in the order they run. */
export const FulfilmentStep = {
  priceOrder: 'priceOrder',
  reserveInventory: 'reserveInventory',
  chargePayment: 'chargePayment',
  createShipment: 'createShipment',
} as const;

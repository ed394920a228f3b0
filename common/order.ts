import type { SagaState } from './saga-state';

/** Workflow type, id scheme and input of the order saga. */
export const ORDER_SAGA = 'orderSaga';

export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

export interface OrderItem {
  sku: string;
  quantity: number;
}

export interface ShippingAddress {
  line1: string;
  city: string;
  postalCode: string;
  country: string;
}

export interface OrderSagaInput {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  payment: { token: string };
  shippingAddress: ShippingAddress;
  /** `YYYY-MM-DD` */
  deliveryDate: string;
}

export interface OrderState extends SagaState {
  orderId: string;
  customerId: string;
  /** Order total in currency units, computed from stored prices; null until priced. */
  total: number | null;
}

/** The step names of the order saga, in the order they run. */
export const OrderStep = {
  priceOrder: 'priceOrder',
  reserveCredit: 'reserveCredit',
  reserveInventory: 'reserveInventory',
  processPayment: 'processPayment',
  createShipment: 'createShipment',
  reserveVehicle: 'reserveVehicle',
} as const;

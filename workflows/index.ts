/** Every workflow type the saga worker runs. */
export { orderSaga } from './order-saga';
export { makeTransportOrder } from './transport-order';
export { customerLoyalty } from './customer-loyalty';

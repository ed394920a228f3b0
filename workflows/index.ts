/** Every workflow type the saga worker runs: the two sagas and the customer loyalty entity workflow. */
export { orderSaga } from './order-saga';
export { makeTransportOrder } from './transport-order';
export { customerLoyalty } from './customer-loyalty';

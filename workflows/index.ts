/** Every workflow type the saga worker runs: the three sagas and the customer loyalty entity workflow. */
export { orderSaga } from './order-saga';
export { makeTransportOrder } from './transport-order';
export { orderFulfilment } from './order-fulfilment';
export { customerLoyalty } from './customer-loyalty';

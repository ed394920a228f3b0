/** Every workflow type the saga worker runs. */
export { orderSaga } from './order-saga';

/**
 * The order saga: its definition (`definitions/order-saga.ts`: steps, kinds, calls, compensations, summaries) run
 * by the one interpreter on the one compensation engine. Any step's business failure, retries running out, or a
 * cancellation undoes the started steps in reverse order; once COMPLETED the order is reported to the customer's
 * loyalty workflow. The same workflow type and the same commands as before it became a definition: every recorded
 * history replays (docs/sagas.md, "Definitions").
 */
import type { OrderSagaInput, OrderState } from '../common/order';
import { orderSagaDefinition } from './definitions/order-saga';
import { runDefinition } from './saga/run-definition';

export async function orderSaga(input: OrderSagaInput): Promise<OrderState> {
  return runDefinition(orderSagaDefinition, input);
}

/**
 * The transport order saga: its definition (`definitions/transport-order.ts`: a parallel fan-out with a join, then
 * a person's decision with a deadline) run by the one interpreter on the one compensation engine. The decision
 * comes as the `decide` update or the `approve`/`reject` signals (`saga/approval.ts`). The same workflow type and
 * the same commands as before it became a definition: every recorded history replays (docs/sagas.md).
 */
import type { TransportOrderInput, TransportOrderState } from '../common/transport';
import { transportOrderDefinition } from './definitions/transport-order';
import { runDefinition } from './saga/run-definition';

export async function makeTransportOrder(input: TransportOrderInput): Promise<TransportOrderState> {
  return runDefinition(transportOrderDefinition, input);
}

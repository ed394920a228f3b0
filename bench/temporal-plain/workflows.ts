/**
 * The order saga as Temporal's official samples write one (samples-typescript `saga`): regular
 * activities with one options object and the default retry policy, compensations pushed *after* a
 * step succeeds and run in reverse on failure, each compensation's error logged and swallowed.
 * It is the baseline that shows what our engine's choices cost or buy; not a model to copy.
 */
import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import type { OrderSagaInput } from '../../common/order';

type Participants = ReturnType<typeof createActivities>;
const acts = proxyActivities<Participants>({ startToCloseTimeout: '10s' });

export async function plainOrderSaga(input: OrderSagaInput): Promise<'COMPLETED' | 'COMPENSATED'> {
  const { orderId, customerId, items, payment, shippingAddress, deliveryDate } = input;
  const key = (step: string) => `${workflowInfo().workflowId}:${step}`;
  const compensations: (() => Promise<unknown>)[] = [];
  try {
    const { totalCents } = await acts.priceOrder({ items });
    const credit = { key: key('reserveCredit'), customerId };
    await acts.reserveCredit({ ...credit, amountCents: totalCents });
    compensations.unshift(() => acts.releaseCredit(credit));
    const inventory = { key: key('reserveInventory'), items };
    await acts.reserveInventory(inventory);
    compensations.unshift(() => acts.releaseInventory(inventory));
    const paymentKey = key('processPayment');
    await acts.processPayment({ key: paymentKey, orderId, customerId, amountCents: totalCents, token: payment.token });
    compensations.unshift(() => acts.refundPayment({ key: paymentKey }));
    const shipmentKey = key('createShipment');
    await acts.createShipment({ key: shipmentKey, orderId, address: shippingAddress, deliveryDate });
    compensations.unshift(() => acts.cancelShipment({ key: shipmentKey }));
    const vehicle = { key: key('reserveVehicle'), deliveryDate };
    await acts.reserveVehicle(vehicle);
    compensations.unshift(() => acts.releaseVehicle(vehicle));
    return 'COMPLETED';
  } catch (err) {
    for (const compensate of compensations) {
      try {
        await compensate();
      } catch (compErr) {
        log.error('compensation failed', { error: String(compErr) });
      }
    }
    log.info('saga compensated', { error: String(err) });
    return 'COMPENSATED';
  }
}

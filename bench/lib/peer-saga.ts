/**
 * The order saga for the peers (Restate, DBOS): the same five steps and compensations as ours, the
 * same participant functions, the same keys. `durable(name, fn)` is the engine's durable step
 * (`ctx.run` in Restate, `DBOS.runStep` in DBOS): one per participant call.
 *
 * A business failure (non-retryable `ApplicationFailure` from a participant) is returned from the
 * step as a value, so the engine records it once and does not retry it; any other error is thrown
 * and the engine retries the step. Compensations are pushed before their step runs, as ours does.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { createActivities } from '../../activities';
import { orderWorkflowId, type OrderSagaInput } from '../../common/order';

export type Participants = ReturnType<typeof createActivities>;
export type Durable = <T>(name: string, fn: () => Promise<T>) => Promise<T>;
export type StepResult<T> = { ok: true; value: T } | { ok: false; type: string; message: string };
export type SagaOutcome = 'COMPLETED' | 'COMPENSATED';

/** Runs a participant call, turning a business failure into a value. */
export async function businessOutcome<T>(fn: () => Promise<T>): Promise<StepResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof ApplicationFailure && err.nonRetryable) {
      return { ok: false, type: err.type ?? 'Error', message: err.message };
    }
    throw err;
  }
}

class BusinessFailed extends Error {}

export async function runOrderSaga(input: OrderSagaInput, p: Participants, durable: Durable): Promise<SagaOutcome> {
  const { orderId, customerId, items, payment, shippingAddress, deliveryDate } = input;
  const key = (step: string) => `${orderWorkflowId(orderId)}:${step}`;
  const undo: { name: string; run: () => Promise<unknown> }[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const r = await durable(name, () => businessOutcome(fn));
    if (!r.ok) throw new BusinessFailed(`${name}: ${r.type}`);
    return r.value;
  };
  try {
    const { totalCents } = await step('priceOrder', () => p.priceOrder({ items }));
    const credit = { key: key('reserveCredit'), customerId };
    undo.push({ name: 'releaseCredit', run: () => p.releaseCredit(credit) });
    await step('reserveCredit', () => p.reserveCredit({ ...credit, amountCents: totalCents }));
    const inventory = { key: key('reserveInventory'), items };
    undo.push({ name: 'releaseInventory', run: () => p.releaseInventory(inventory) });
    await step('reserveInventory', () => p.reserveInventory(inventory));
    const paymentKey = key('processPayment');
    undo.push({ name: 'refundPayment', run: () => p.refundPayment({ key: paymentKey }) });
    await step('processPayment', () =>
      p.processPayment({ key: paymentKey, orderId, customerId, amountCents: totalCents, token: payment.token }),
    );
    const shipmentKey = key('createShipment');
    undo.push({ name: 'cancelShipment', run: () => p.cancelShipment({ key: shipmentKey }) });
    await step('createShipment', () =>
      p.createShipment({ key: shipmentKey, orderId, address: shippingAddress, deliveryDate }),
    );
    const vehicle = { key: key('reserveVehicle'), deliveryDate };
    undo.push({ name: 'releaseVehicle', run: () => p.releaseVehicle(vehicle) });
    await step('reserveVehicle', () => p.reserveVehicle(vehicle));
    return 'COMPLETED';
  } catch (err) {
    if (!(err instanceof BusinessFailed)) throw err;
    for (const u of undo.reverse()) await durable(u.name, u.run);
    return 'COMPENSATED';
  }
}

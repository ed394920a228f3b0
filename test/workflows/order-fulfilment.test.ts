/**
 * The order-fulfilment saga's logic (a definition only: workflows/definitions/order-fulfilment.ts) on the
 * time-skipping test server, with mocked participants: the happy path, each failure point compensated in reverse
 * order, and the cancellation it reports (state and `OrderCancelled` event): who cancelled, whether a refund was
 * issued, every unavailable sku. Outcomes are read through the `getState` query, not the workflow's result.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { cancelRequestedSignal, getStateQuery } from '../../common/definitions';
import { BusinessFailure } from '../../common/failures';
import {
  fulfilmentWorkflowId,
  ORDER_FULFILMENT,
  type OrderFulfilmentInput,
  type OrderFulfilmentState,
} from '../../common/order-fulfilment';
import { SagaStatus, StepStatus } from '../../common/saga-state';
import type { orderFulfilment } from '../../workflows';
import { appendedEvents, done, mockWorker, ok, timeSkippingEnv } from './support';

type Failing = 'priceOrder' | 'reserveInventory' | 'processPayment' | 'createShipment';

/** Participants that record every call; `fail` makes one throw its business failure, `hold` keeps one running. */
function mockParticipants(fail?: Failing, hold?: Promise<void>) {
  const calls: string[] = [];
  const activities = {
    priceOrder() {
      calls.push('priceOrder');
      if (fail === 'priceOrder') {
        return Promise.reject(
          ApplicationFailure.nonRetryable('Product x does not exist', BusinessFailure.UnknownProduct),
        );
      }
      return done({ totalCents: 2_500, lines: [] });
    },
    reserveInventory() {
      calls.push('reserveInventory');
      if (fail === 'reserveInventory') {
        return Promise.reject(
          ApplicationFailure.nonRetryable(
            'Products out of stock: sku-a (fewer than 3), sku-c (fewer than 1)',
            'OutOfStock',
            {
              skus: ['sku-a', 'sku-c'],
            },
          ),
        );
      }
      return done('applied');
    },
    releaseInventory() {
      calls.push('releaseInventory');
      return done('undone');
    },
    processPayment() {
      calls.push('processPayment');
      if (fail === 'processPayment') {
        return Promise.reject(ApplicationFailure.nonRetryable('Payment declined', BusinessFailure.PaymentDeclined));
      }
      return done('applied');
    },
    refundPayment() {
      calls.push('refundPayment');
      // A declined payment charged nothing: its refund has nothing to undo.
      return done(fail === 'processPayment' ? 'nothing-to-undo' : 'undone');
    },
    async createShipment() {
      calls.push('createShipment');
      if (hold) await hold;
      if (fail === 'createShipment') {
        throw ApplicationFailure.nonRetryable('We do not ship to ZZ', BusinessFailure.ShipmentRejected);
      }
      return ok('applied');
    },
    cancelShipment() {
      calls.push('cancelShipment');
      return done('undone');
    },
  };
  return { calls, activities };
}

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => env?.teardown());

function input(): OrderFulfilmentInput {
  return {
    orderId: randomUUID().slice(0, 8),
    customerId: 'cust-1',
    items: [
      { sku: 'sku-a', quantity: 3 },
      { sku: 'sku-b', quantity: 1 },
      { sku: 'sku-c', quantity: 1 },
    ],
    payment: { token: 'tok_ok' },
    shippingAddress: { line1: '1 Main St', city: 'Lyon', postalCode: '69001', country: 'FR' },
    deliveryDate: '2030-01-15',
  };
}

/** Runs one saga to its end with the participants given; answers its final state (the query) and calls. */
async function run(
  participants: ReturnType<typeof mockParticipants>,
  during?: (handle: Awaited<ReturnType<typeof env.client.workflow.start<typeof orderFulfilment>>>) => Promise<void>,
) {
  const taskQueue = `fulfilment-${randomUUID()}`;
  const worker = await mockWorker(env, taskQueue, participants.activities);
  const args = input();
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start<typeof orderFulfilment>(ORDER_FULFILMENT, {
      taskQueue,
      workflowId: fulfilmentWorkflowId(args.orderId),
      args: [args],
    });
    await during?.(handle);
    await handle.result().catch(() => undefined); // read the outcome through the state, whatever the close
    const state = (await handle.query(getStateQuery)) as OrderFulfilmentState;
    return { state, events: appendedEvents.get(handle.workflowId) ?? [] };
  });
}

describe('order-fulfilment saga', () => {
  test('when every participant agrees, the order is priced, reserved, charged and shipped, and not cancelled', async () => {
    const p = mockParticipants();
    const { state, events } = await run(p);
    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect(p.calls).toEqual(['priceOrder', 'reserveInventory', 'processPayment', 'createShipment']);
    expect(state.total).toBe(25);
    expect(state.cancellation).toBeNull();
    expect(events.map((e) => e.type)).not.toContain('OrderCancelled');
    expect(events.at(-1)?.type).toBe('SagaCompleted');
  });

  test('when stock is short, every unavailable sku is reported at once, cancelled by the system, nothing refunded', async () => {
    const p = mockParticipants('reserveInventory');
    const { state, events } = await run(p);
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(p.calls).toEqual(['priceOrder', 'reserveInventory', 'releaseInventory']);
    const expected = {
      cancelledBy: 'system',
      refundIssued: false,
      failureStep: 'reserveInventory',
      failureType: 'OutOfStock',
      unavailableSkus: ['sku-a', 'sku-c'],
    };
    expect(state.cancellation).toEqual(expected);
    expect(state.failure?.message).toContain('sku-a');
    expect(state.failure?.message).toContain('sku-c');
    const types = events.map((e) => e.type);
    expect(types.slice(-2)).toEqual(['OrderCancelled', 'SagaCompensated']);
    expect(events.find((e) => e.type === 'OrderCancelled')?.data).toEqual(expected);
  });

  test('when payment is declined, inventory is released after the no-op refund, and refundIssued is false', async () => {
    const p = mockParticipants('processPayment');
    const { state } = await run(p);
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(p.calls).toEqual(['priceOrder', 'reserveInventory', 'processPayment', 'refundPayment', 'releaseInventory']);
    expect(state.cancellation).toEqual({
      cancelledBy: 'system',
      refundIssued: false,
      failureStep: 'chargePayment',
      failureType: 'PaymentDeclined',
      unavailableSkus: [],
    });
  });

  test('when the shipment is rejected, the charge is refunded, then stock released, and refundIssued is true', async () => {
    const p = mockParticipants('createShipment');
    const { state } = await run(p);
    expect(p.calls).toEqual([
      'priceOrder',
      'reserveInventory',
      'processPayment',
      'createShipment',
      'cancelShipment',
      'refundPayment',
      'releaseInventory',
    ]);
    expect(state.cancellation).toMatchObject({
      cancelledBy: 'system',
      refundIssued: true,
      failureStep: 'createShipment',
    });
  });

  /** Cancels the saga once it is shipping (the payment taken), releasing the held shipment once it compensates. */
  async function cancelWhileShipping(actor: { by: string; byKind: 'api-key' } | undefined) {
    let release = () => undefined as void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const p = mockParticipants(undefined, hold);
    const until = async (
      handle: { query: (q: typeof getStateQuery) => Promise<unknown> },
      done: (s: OrderFulfilmentState) => boolean,
    ) => {
      for (let i = 0; i < 400; i++) {
        if (done((await handle.query(getStateQuery)) as OrderFulfilmentState)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the saga did not get there');
    };
    try {
      const outcome = await run(p, async (handle) => {
        await until(handle, (s) =>
          s.steps.some((st) => st.name === 'createShipment' && st.status === StepStatus.RUNNING),
        );
        // What the API sends: the actor first, then Temporal's cancel request (the CLI sends the request alone).
        if (actor) await handle.signal(cancelRequestedSignal, actor);
        await handle.cancel();
        await until(handle, (s) => s.status !== SagaStatus.RUNNING);
        release();
      });
      return { ...outcome, calls: p.calls };
    } finally {
      release();
    }
  }

  test('when the customer cancels through the API after payment, everything is undone and refundIssued is true', async () => {
    const { state, events, calls } = await cancelWhileShipping({ by: 'shop', byKind: 'api-key' });
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.cancelled).toBe(true);
    expect(calls.slice(-3)).toEqual(['cancelShipment', 'refundPayment', 'releaseInventory']);
    expect(state.cancellation).toEqual({
      cancelledBy: 'customer',
      refundIssued: true,
      failureStep: 'createShipment',
      failureType: 'Cancelled',
      unavailableSkus: [],
    });
    expect(events.find((e) => e.type === 'OrderCancelled')?.data).toMatchObject({ cancelledBy: 'customer' });
  });

  test('a cancel without an actor (the CLI, the Web UI) is reported as by an operator', async () => {
    const { state } = await cancelWhileShipping(undefined);
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.cancellation).toMatchObject({ cancelledBy: 'operator', refundIssued: true });
  });
});

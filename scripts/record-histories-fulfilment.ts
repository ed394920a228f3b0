/**
 * Scenarios of `npm run record-histories` (scripts/record-histories.ts) for the order-fulfilment saga, built from
 * its definition only (workflows/definitions/order-fulfilment.ts). It has no routes of its own: each scenario starts
 * it as the order intake does (the same search attributes), on the recorder's worker.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { cancelRequestedSignal } from '../common/definitions';
import { fulfilmentWorkflowId, ORDER_FULFILMENT, type OrderFulfilmentInput } from '../common/order-fulfilment';
import { SagaStatus } from '../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../common/search-attributes';
import { Gate } from '../test/support/saga-hooks';
import { recorderTaskQueue, type RecordContext, type Scenario } from './lib/history-recorder';
import { withTimeout } from './lib/wait';

/** An order-fulfilment input from the order saga's body (same fields), its own order id. */
async function fulfilmentInput(
  ctx: RecordContext,
  name: string,
  overrides: { token?: string; stockEach?: number; quantity?: number; lines?: number } = {},
): Promise<OrderFulfilmentInput> {
  const { token = 'tok_visa', stockEach = 100, quantity = 2, lines = 1 } = overrides;
  const seeded = [];
  for (let i = 0; i < lines; i++) seeded.push(await ctx.seed(String.fromCharCode(97 + i), { stock: stockEach }));
  const body = ctx.order(seeded[0]!, { orderId: `history-${name}`, token, quantity });
  return { ...body, items: seeded.map((s) => ({ sku: s.sku, quantity })) };
}

async function startFulfilment(ctx: RecordContext, input: OrderFulfilmentInput): Promise<WorkflowHandle> {
  return ctx.client.workflow.start(ORDER_FULFILMENT, {
    taskQueue: recorderTaskQueue,
    workflowId: fulfilmentWorkflowId(input.orderId),
    args: [input],
    typedSearchAttributes: [
      { key: SagaStatusKey, value: SagaStatus.RUNNING },
      { key: CustomerIdKey, value: input.customerId },
    ],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
}

async function untilClosed(handle: WorkflowHandle): Promise<WorkflowHandle> {
  await handle.result().catch(() => undefined); // a cancelled or failed close: its history is what we want
  return handle;
}

const workflowType = ORDER_FULFILMENT;

export const fulfilmentScenarios: Record<string, Scenario> = {
  'fulfilment-completed': {
    description: 'The order-fulfilment saga: priced, two lines reserved, charged, shipped.',
    sagaStatus: SagaStatus.COMPLETED,
    workflowType,
    run: async (ctx, name) => untilClosed(await startFulfilment(ctx, await fulfilmentInput(ctx, name, { lines: 2 }))),
  },
  'fulfilment-out-of-stock-two-skus': {
    description:
      'The order-fulfilment saga: two of three lines are short; OutOfStock lists both skus, the stock taken is ' +
      'released, OrderCancelled (system, no refund, both skus).',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType,
    run: async (ctx, name) => {
      const input = await fulfilmentInput(ctx, name, { lines: 3, stockEach: 1, quantity: 2 });
      // The first line fits (stock 5 of its own), the other two do not.
      const fits = await ctx.seed('fits', { stock: 5 });
      input.items = [{ sku: fits.sku, quantity: 2 }, ...input.items.slice(1)];
      return untilClosed(await startFulfilment(ctx, input));
    },
  },
  'fulfilment-payment-declined': {
    description:
      'The order-fulfilment saga: the payment is declined (tok_declined); the no-op refund, then the stock ' +
      'released; OrderCancelled (system, refundIssued false).',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType,
    run: async (ctx, name) =>
      untilClosed(await startFulfilment(ctx, await fulfilmentInput(ctx, name, { token: 'tok_declined' }))),
  },
  'fulfilment-cancelled-by-customer': {
    description:
      'The order-fulfilment saga: cancelled through the API (cancelRequested with an api-key actor, then the ' +
      'cancel request) while createShipment runs, after the charge; shipment, charge and stock undone; ' +
      'OrderCancelled (customer, refundIssued true).',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType,
    run: async (ctx, name) => {
      const input = await fulfilmentInput(ctx, name);
      const gate = new Gate();
      ctx.hooks.add({ activity: 'createShipment', workflowId: fulfilmentWorkflowId(input.orderId), gate });
      const handle = await startFulfilment(ctx, input);
      await withTimeout(gate.entered, 30_000, `${name}: createShipment never started`);
      await handle.signal(cancelRequestedSignal, { by: 'history-customer', byKind: 'api-key' });
      await handle.cancel();
      await ctx.waitForStatus(handle, [SagaStatus.COMPENSATED]);
      await untilClosed(handle);
      gate.release(); // the held attempt runs after its compensation: the tombstone keeps it from shipping
      return handle;
    },
  },
};

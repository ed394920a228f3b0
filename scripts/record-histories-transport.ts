/**
 * Scenarios of `npm run record-histories` (scripts/record-histories.ts) for the transport order saga, the customer loyalty entity workflow, and the
 * order saga's notification of the loyalty workflow (`patched('loyalty-signal')`). See that script for how
 * they are run and where the histories go.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { getStateQuery } from '../common/definitions';
import {
  CUSTOMER_LOYALTY,
  getLoyaltyQuery,
  loyaltyWorkflowId,
  orderCompletedSignal,
  type LoyaltyState,
} from '../common/loyalty';
import { orderWorkflowId, type OrderState } from '../common/order';
import { SagaStatus } from '../common/saga-state';
import {
  approveSignal,
  rejectSignal,
  TRANSPORT_ORDER,
  transportWorkflowId,
  type TransportOrderState,
} from '../common/transport';
import type { customerLoyalty } from '../workflows';
import { recorderTaskQueue, type RecordContext, type Scenario } from './lib/history-recorder';
import { pollUntil } from './lib/wait';
import { sagaResult } from '../common/saga-result';

/** A customer, three parcels (21 kg) and two vehicles that fit (the cheaper one is chosen), all named after the scenario. */
async function arrangeTransport(ctx: RecordContext, name: string, parcelWeightKg = 7): Promise<string[]> {
  const { customerId } = await ctx.seed('a');
  const parcelIds = [1, 2, 3].map((i) => `parcel-${name}-${i}`);
  for (const id of parcelIds) await ctx.api('POST', '/parcels', { id, weightKg: parcelWeightKg }, 201);
  await ctx.api(
    'POST',
    '/transport-vehicles',
    { id: `truck-${name}-a`, name: 'Truck', capacityKg: 100, pricePerService: 180 },
    201,
  );
  await ctx.api(
    'POST',
    '/transport-vehicles',
    { id: `truck-${name}-b`, name: 'Truck', capacityKg: 100, pricePerService: 240 },
    201,
  );
  return [customerId, ...parcelIds];
}

async function startTransport(
  ctx: RecordContext,
  name: string,
  body: { decisionTimeoutSeconds?: number; parcelWeightKg?: number } = {},
): Promise<WorkflowHandle> {
  const [customerId, ...parcelIds] = await arrangeTransport(ctx, name, body.parcelWeightKg);
  const orderId = `history-${name}`;
  const { decisionTimeoutSeconds } = body;
  await ctx.api('POST', '/transport-orders', { orderId, customerId, parcelIds, decisionTimeoutSeconds }, 202);
  return ctx.client.workflow.getHandle(transportWorkflowId(orderId));
}

async function untilPending(handle: WorkflowHandle): Promise<void> {
  await pollUntil(
    `${handle.workflowId} waiting for a decision`,
    () => handle.query(getStateQuery) as Promise<TransportOrderState>,
    (s) => s.pendingDecision !== null || s.status !== SagaStatus.RUNNING,
  );
}

/**
 * Sends completed orders to a loyalty workflow that continues as new after 30 history events until it has, then more
 * until the next multiple of 10 (so the second run grants a discount), one order sent twice. Returns the
 * workflow id and the ids of the first run and of the run that the first continued as.
 */
async function loyaltyAcrossContinueAsNew(ctx: RecordContext, name: string) {
  const customerId = `cust-${name}`;
  const workflowId = loyaltyWorkflowId(customerId);
  const send = (n: number) =>
    ctx.client.workflow.signalWithStart<typeof customerLoyalty, [{ orderId: string }]>(CUSTOMER_LOYALTY, {
      workflowId,
      taskQueue: recorderTaskQueue,
      args: [{ customerId, continueAsNewAfterEvents: 30 }],
      signal: orderCompletedSignal,
      signalArgs: [{ orderId: `${name}-order-${n}` }],
    });
  const latest = ctx.client.workflow.getHandle(workflowId);
  const firstRunId = (await send(1)).signaledRunId;
  let sent = 1;
  let secondRunId: string | undefined;
  while (!secondRunId) {
    if (sent >= 60) throw new Error(`${workflowId} did not continue as new`);
    await send(++sent);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { runId } = await latest.describe();
    if (runId !== firstRunId) secondRunId = runId;
  }
  const total = (Math.floor(sent / 10) + 1) * 10;
  while (sent < total) await send(++sent);
  await send(total); // a duplicate: counted once
  await pollUntil(
    `${workflowId} counting`,
    () => latest.query(getLoyaltyQuery),
    (s: LoyaltyState) => s.completedOrders === total && s.discounts.length === total / 10,
  );
  return { workflowId, firstRunId, secondRunId };
}

/** The loyalty workflow never ends: its status is that of its current run. */
async function loyaltyStatus(handle: WorkflowHandle): Promise<string> {
  const { status } = await handle.client.getHandle(handle.workflowId).describe();
  return status.name;
}

export const transportAndLoyaltyScenarios: Record<string, Scenario> = {
  'completed-signals-loyalty': {
    description:
      "After patched('loyalty-signal'): every step succeeds, then recordCompletedOrder signals-with-start the " +
      "customer's loyalty saga.",
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => {
      const input = ctx.order(await ctx.seed('a'));
      const handle = await ctx.start(input);
      await sagaResult(handle);
      const state = (await handle.query(getStateQuery)) as OrderState;
      await pollUntil(
        'loyalty counting the order',
        () => ctx.client.workflow.getHandle(loyaltyWorkflowId(state.customerId)).query(getLoyaltyQuery),
        (s: LoyaltyState) => s.completedOrders === 1,
      );
      return ctx.client.workflow.getHandle(orderWorkflowId(input.orderId));
    },
  },
  'transport-approved': {
    description:
      'Transport order: three parcels added in parallel, cheapest vehicle reserved and assigned, approved by the approve signal (as before the decide update, and as CLI users still do).',
    sagaStatus: SagaStatus.COMPLETED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name);
      await untilPending(handle);
      await handle.signal(approveSignal);
      await sagaResult(handle);
      return handle;
    },
  },
  'transport-rejected': {
    description:
      'Transport order rejected by the reject signal while waiting: assignment, reservation, three parcels, order undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name);
      await untilPending(handle);
      await handle.signal(rejectSignal, { reason: 'too expensive' });
      await sagaResult(handle);
      return handle;
    },
  },
  'transport-approved-by-update': {
    description: 'Transport order approved through the API, which sends the decide update.',
    sagaStatus: SagaStatus.COMPLETED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name);
      await untilPending(handle);
      await ctx.api('POST', `/transport-orders/history-${name}/approve`, {}, 202);
      await sagaResult(handle);
      return handle;
    },
  },
  'transport-rejected-by-update': {
    description: 'Transport order rejected through the API (decide update): everything undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name);
      await untilPending(handle);
      await ctx.api('POST', `/transport-orders/history-${name}/reject`, { reason: 'too expensive' }, 202);
      await sagaResult(handle);
      return handle;
    },
  },
  // Recorded with domain events (patched('domain-events')): the decide update's task answers it and starts a 1 ms
  // timer; the appends of the events the approval caused run in the next task.
  'domain-events-transport-approved-by-update-encrypted': {
    description: 'Transport order with domain events, approved through the API (decide update).',
    sagaStatus: SagaStatus.COMPLETED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name);
      await untilPending(handle);
      await ctx.api('POST', `/transport-orders/history-${name}/approve`, {}, 202);
      await sagaResult(handle);
      return handle;
    },
  },
  'transport-deadline-passed': {
    description: 'Transport order with a 2 s decision timeout and no decision: the timer fires, everything undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name, { decisionTimeoutSeconds: 2 });
      await sagaResult(handle);
      return handle;
    },
  },
  'transport-no-vehicle': {
    description: 'Transport order whose parcels (3 x 400 kg) fit no vehicle: the parallel additions are undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name, { parcelWeightKg: 400 });
      await sagaResult(handle);
      return handle;
    },
  },
  // Recorded with the transport order built from its definition (workflows/definitions/transport-order.ts).
  'definition-transport-approved-by-update': {
    description:
      'The transport order built from its definition: parcels in parallel, vehicle chosen, reserved, assigned, approved by the decide update.',
    sagaStatus: SagaStatus.COMPLETED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name);
      await untilPending(handle);
      await ctx.api('POST', `/transport-orders/history-${name}/approve`, {}, 202);
      await sagaResult(handle);
      return handle;
    },
  },
  'definition-transport-rejected-by-update': {
    description:
      'The transport order built from its definition, rejected by the decide update with a reason: everything undone in reverse.',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name);
      await untilPending(handle);
      await ctx.api('POST', `/transport-orders/history-${name}/reject`, { reason: 'too expensive' }, 202);
      await sagaResult(handle);
      return handle;
    },
  },
  'definition-transport-deadline-passed': {
    description:
      'The transport order built from its definition, 2 s decision timeout and no decision: the timer fires, everything undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    workflowType: TRANSPORT_ORDER,
    run: async (ctx, name) => {
      const handle = await startTransport(ctx, name, { decisionTimeoutSeconds: 2 });
      await sagaResult(handle);
      return handle;
    },
  },
  'loyalty-continued-as-new': {
    description:
      'Loyalty saga, first run: orders counted (discount 1 at the 10th if it gets there), continued as new after 30 events.',
    sagaStatus: SagaStatus.RUNNING,
    workflowType: CUSTOMER_LOYALTY,
    status: loyaltyStatus,
    run: async (ctx, name) => {
      const { workflowId, firstRunId } = await loyaltyAcrossContinueAsNew(ctx, name);
      return ctx.client.workflow.getHandle(workflowId, firstRunId);
    },
  },
  'loyalty-after-continue-as-new': {
    description:
      'Loyalty saga, the run started by continue-as-new: carried count and order ids, more orders, a duplicate, a discount.',
    sagaStatus: SagaStatus.RUNNING,
    workflowType: CUSTOMER_LOYALTY,
    status: loyaltyStatus,
    run: async (ctx, name) => {
      const { workflowId, secondRunId } = await loyaltyAcrossContinueAsNew(ctx, name);
      return ctx.client.workflow.getHandle(workflowId, secondRunId);
    },
  },
};

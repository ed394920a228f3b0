import type { temporal } from '@temporalio/proto';
import { msToNumber } from '@temporalio/common/lib/time';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { transportWorkflowId, type TransportOrderState } from '../../common/transport';
import { sagaConfigCollection } from '../../store/saga-config';
import { Gate } from '../support/saga-hooks';
import { addVehicle, orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { executedActivities, http, startHarness, waitForSaga, type Harness } from '../support/harness';

let h: Harness;
let s: Seeded;
beforeAll(async () => {
  h = await startHarness('sagaconfig');
  s = await seed(h);
  await addVehicle(h, 100);
});
afterAll(async () => h?.stop());
beforeEach(async () => {
  await sagaConfigCollection(h.db).deleteMany({});
});

const operator = () => ({ authorization: `Bearer ${h.keys.operator}` });

async function putConfig(type: string, config: unknown): Promise<number> {
  const res = await http(h.baseUrl, 'PUT', `/saga-config/${type}`, config, operator());
  expect(res.status).toBe(200);
  return res.body.version as number;
}

async function startOrder(orderId = unique('cfg')) {
  const res = await http(h.baseUrl, 'POST', '/orders', orderBody(s, { orderId }));
  expect(res.status).toBe(202);
  return h.client.workflow.getHandle(orderWorkflowId(orderId));
}

type Event = temporal.api.history.v1.IHistoryEvent;
async function scheduled(handle: { fetchHistory(): Promise<temporal.api.history.v1.IHistory> }, activity: string) {
  const events: Event[] = (await handle.fetchHistory()).events ?? [];
  return events.map((e) => e.activityTaskScheduledEventAttributes).find((a) => a?.activityType?.name === activity);
}

const seconds = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(d?.seconds ?? 0) + (d?.nanos ?? 0) / 1e9;

test('a saga started after a put runs with it: a local step switched to regular, with its timeout and retries; configVersion says which', async () => {
  const version = await putConfig('order', {
    steps: {
      reserveVehicle: {
        mode: 'regular',
        startToCloseTimeoutMs: 7_000,
        retry: { maximumAttempts: 3, initialIntervalMs: 500 },
      },
    },
  });
  expect(version).toBe(1);
  const handle = await startOrder();
  const state = await waitForSaga<OrderState>(handle);
  expect(state).toMatchObject({ status: SagaStatus.COMPLETED, configVersion: 1 });

  const executed = await executedActivities(handle);
  // Read at the start, as a local activity (its marker), before the first step (domain events aside).
  expect(executed.filter((a) => a.name !== 'appendDomainEvents').slice(0, 3)).toEqual([
    { name: 'chooseCarrier', local: true },
    { name: 'readSagaConfig', local: true },
    { name: 'priceOrder', local: true },
  ]);
  expect(executed).toContainEqual({ name: 'reserveVehicle', local: false });
  expect(executed).not.toContainEqual({ name: 'reserveVehicle', local: true });
  // The other steps keep their definition's modes.
  expect(executed).toContainEqual({ name: 'reserveCredit', local: true });
  expect(executed).toContainEqual({ name: 'processPayment', local: false });

  const attributes = await scheduled(handle, 'reserveVehicle');
  expect(seconds(attributes?.startToCloseTimeout)).toBe(7);
  expect(attributes?.retryPolicy?.maximumAttempts).toBe(3);
  expect(seconds(attributes?.retryPolicy?.initialInterval)).toBe(0.5);
  // Left unset: the preset's own (participantCall: maximum interval 10 s, coefficient 2).
  expect(seconds(attributes?.retryPolicy?.maximumInterval)).toBe(10);
  expect(attributes?.retryPolicy?.backoffCoefficient).toBe(2);
});

test('a preset stored for compensations applies to every compensation; a step set to local runs as a marker', async () => {
  await putConfig('order', {
    presets: { compensation: { startToCloseTimeoutMs: 4_000, retry: { maximumAttempts: 20 } } },
    steps: { processPayment: { mode: 'local' } },
  });
  const orderId = unique('cfg');
  const res = await http(h.baseUrl, 'POST', '/orders', orderBody(s, { orderId, token: 'tok_declined' }));
  expect(res.status).toBe(202);
  const handle = h.client.workflow.getHandle(orderWorkflowId(orderId));
  const state = await waitForSaga<OrderState>(handle);
  expect(state).toMatchObject({ status: SagaStatus.COMPENSATED, configVersion: 1 });
  const executed = await executedActivities(handle);
  expect(executed).toContainEqual({ name: 'processPayment', local: true });
  for (const compensation of ['releaseInventory', 'releaseCredit']) {
    const attributes = await scheduled(handle, compensation);
    expect([compensation, seconds(attributes?.startToCloseTimeout)]).toEqual([compensation, 4]);
    expect([compensation, attributes?.retryPolicy?.maximumAttempts]).toEqual([compensation, 20]);
    expect([compensation, seconds(attributes?.retryPolicy?.initialInterval)]).toEqual([compensation, 1]);
  }
});

test('a saga keeps the version it read at its start: one running across a put stays on it, the next takes the new one', async () => {
  await putConfig('order', { steps: { reserveVehicle: { mode: 'regular' } } });
  const gate = new Gate();
  const firstId = unique('cfg');
  h.hooks.add({ activity: 'processPayment', workflowId: orderWorkflowId(firstId), gate });
  const first = await startOrder(firstId);
  await gate.entered;
  expect(await putConfig('order', { steps: { reserveVehicle: { mode: 'local' } } })).toBe(2);
  const second = await startOrder();
  expect(await waitForSaga<OrderState>(second)).toMatchObject({ status: SagaStatus.COMPLETED, configVersion: 2 });
  gate.release();
  expect(await waitForSaga<OrderState>(first)).toMatchObject({ status: SagaStatus.COMPLETED, configVersion: 1 });
  expect(await executedActivities(first)).toContainEqual({ name: 'reserveVehicle', local: false });
  expect(await executedActivities(second)).toContainEqual({ name: 'reserveVehicle', local: true });
});

test('with nothing stored a saga runs with its definition: configVersion null, the definition’s modes', async () => {
  const handle = await startOrder();
  expect(await waitForSaga<OrderState>(handle)).toMatchObject({ status: SagaStatus.COMPLETED, configVersion: null });
  const executed = await executedActivities(handle);
  expect(executed).toContainEqual({ name: 'readSagaConfig', local: true });
  expect(executed).toContainEqual({ name: 'reserveVehicle', local: true });
  expect(await scheduled(handle, 'reserveVehicle')).toBeUndefined();
});

test("the transport order's approval deadline comes from the stored configuration when the order names none", async () => {
  await putConfig('transport-order', { steps: { awaitDecision: { deadlineSeconds: 2 } } });
  for (const [id, capacityKg, pricePerService] of [[unique('truck'), 1000, 150]] as const) {
    expect(
      (await http(h.baseUrl, 'POST', '/transport-vehicles', { id, name: 'T', capacityKg, pricePerService })).status,
    ).toBe(201);
  }
  const parcel = await http(h.baseUrl, 'POST', '/parcels', { weightKg: 5 });
  expect(parcel.status).toBe(201);
  const orderId = unique('tr');
  const started = await http(h.baseUrl, 'POST', '/transport-orders', {
    orderId,
    customerId: s.customerId,
    parcelIds: [parcel.body.id],
  });
  expect(started.status).toBe(202);
  const handle = h.client.workflow.getHandle(transportWorkflowId(orderId));
  const state = await waitForSaga<TransportOrderState>(handle);
  expect(state).toMatchObject({
    status: SagaStatus.COMPENSATED,
    configVersion: 1,
    failure: { step: 'awaitDecision', type: 'DecisionTimedOut' },
  });
  const timers = ((await handle.fetchHistory()).events ?? [])
    .map((e) => e.timerStartedEventAttributes?.startToFireTimeout)
    .filter((t) => t !== undefined && t !== null);
  expect(timers.map((t) => seconds(t))).toContain(msToNumber('2s') / 1000);
});

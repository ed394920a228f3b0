import { getStateQuery } from '../../common/definitions';
import { SagaStatus } from '../../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../../common/search-attributes';
import {
  addParcelStep,
  TRANSPORT_ORDER,
  transportWorkflowId,
  type TransportOrderInput,
  type TransportOrderState,
} from '../../common/transport';
import { transportCollections } from '../../store/transport-collections';
import { idempotencyKeys } from '../../api/idempotency';
import { pollUntil } from '../../scripts/lib/wait';
import { seed, unique } from '../support/fixtures';
import { decodePayload, http, startHarness, waitForSaga, type Harness } from '../support/harness';

let h: Harness;
let customerId: string;
/** Vehicles: one too small for most tests, two that fit (the cheaper is chosen). */
const vehicles = { small: unique('van'), cheap: unique('truck'), dear: unique('truck') };

beforeAll(async () => {
  h = await startHarness('transport');
  ({ customerId } = await seed(h));
  for (const [id, capacityKg, pricePerService] of [
    [vehicles.small, 10, 50],
    [vehicles.cheap, 1000, 150],
    [vehicles.dear, 1000, 200],
  ] as const) {
    const res = await http(h.baseUrl, 'POST', '/transport-vehicles', {
      id,
      name: 'Vehicle',
      capacityKg,
      pricePerService,
    });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => h?.stop());

async function parcels(...weights: number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const weightKg of weights) {
    const res = await http(h.baseUrl, 'POST', '/parcels', { weightKg });
    expect(res.status).toBe(201);
    ids.push(res.body.id as string);
  }
  return ids;
}

async function start(body: Record<string, unknown>): Promise<string> {
  const orderId = unique('tr');
  const res = await http(h.baseUrl, 'POST', '/transport-orders', { orderId, customerId, ...body });
  expect(res.status).toBe(202);
  expect(res.headers.get('location')).toBe(`/transport-orders/${orderId}`);
  return orderId;
}

const handle = (orderId: string) => h.client.workflow.getHandle(transportWorkflowId(orderId));

function untilPending(orderId: string): Promise<TransportOrderState> {
  return pollUntil(
    `${orderId} waits for a decision`,
    () => handle(orderId).query(getStateQuery) as Promise<TransportOrderState>,
    (state) => Boolean(state.pendingDecision) || state.status !== SagaStatus.RUNNING,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

interface Scheduled {
  index: number;
  eventId: string;
  name: string;
  input: { parcelId?: string } | undefined;
}

/** Activities scheduled and completed, from Temporal's history (not from our state). */
async function activityHistory(orderId: string) {
  const events = (await handle(orderId).fetchHistory()).events ?? [];
  const scheduled: Scheduled[] = [];
  const completed: { index: number; scheduledEventId: string }[] = [];
  for (const [index, e] of events.entries()) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      // the history holds the input encrypted (docs/security.md): decode it as the worker does
      const payload = s.input?.payloads?.[0];
      scheduled.push({
        index,
        eventId: String(e.eventId),
        name: s.activityType?.name ?? '',
        input: payload ? ((await decodePayload(payload)) as Scheduled['input']) : undefined,
      });
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c) completed.push({ index, scheduledEventId: String(c.scheduledEventId) });
  }
  return { scheduled, completed };
}

async function parcelDocs(ids: string[]) {
  const { parcels: col } = transportCollections(h.db);
  return col
    .find({ _id: { $in: ids } })
    .sort({ _id: 1 })
    .toArray();
}

describe('the transport order saga, end to end on the real servers', () => {
  test('approved: parcels added in parallel, cheapest fitting vehicle reserved on its earliest date and assigned', async () => {
    const ids = await parcels(5, 7, 9);
    const orderId = await start({ parcelIds: ids, priority: 'HIGH' });

    const pending = await untilPending(orderId);
    expect(pending.status).toBe(SagaStatus.RUNNING);
    expect(pending).toMatchObject({ totalWeightKg: 21, vehicleId: vehicles.cheap, price: 150, priority: 'HIGH' });
    expect(Date.parse(pending.pendingDecision!.deadline)).toBeGreaterThan(Date.now() + 23 * 3600_000);
    for (const id of ids) expect((await http(h.baseUrl, 'GET', `/parcels/${id}`)).body.transportOrderId).toBe(orderId);
    const vehicle = await http(h.baseUrl, 'GET', `/transport-vehicles/${vehicles.cheap}`);
    expect(vehicle.body.reservations).toContainEqual({ date: pending.reservedDate, orderId, priority: 'HIGH' });

    const approve = await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/approve`);
    expect(approve.status).toBe(202);
    const state = await waitForSaga<TransportOrderState>(handle(orderId));
    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect(state.decision).toBe('APPROVED');
    expect((await http(h.baseUrl, 'GET', `/transport-orders/${orderId}`)).body).toEqual(state);

    // Concurrency, from the history: all three additions were scheduled before any of them completed.
    const { scheduled, completed } = await activityHistory(orderId);
    const additions = scheduled.filter((s) => s.name === 'addParcelToTransport');
    expect(additions.map((a) => a.input?.parcelId)).toEqual(ids);
    const firstDone = Math.min(
      ...completed.filter((c) => additions.some((a) => a.eventId === c.scheduledEventId)).map((c) => c.index),
    );
    expect(Math.max(...additions.map((a) => a.index))).toBeLessThan(firstDone);

    // The update was answered by a workflow task that ran no local activity: the domain events the approval
    // caused were appended in the next task, after a 1 ms timer (workflows/saga/domain-events.ts).
    const history = (await handle(orderId).fetchHistory()).events ?? [];
    const at = (pick: (e: (typeof history)[number]) => unknown) => history.findIndex((e) => pick(e) != null);
    const accepted = at((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    const answered = at((e) => e.workflowExecutionUpdateCompletedEventAttributes);
    const fired = history.findIndex((e, i) => i > accepted && e.timerFiredEventAttributes != null);
    expect(accepted).toBeGreaterThan(0);
    expect(answered).toBeGreaterThan(accepted);
    expect(fired).toBeGreaterThan(answered);
    const markersBetween = history.slice(accepted, fired).filter((e) => e.markerRecordedEventAttributes != null);
    expect(markersBetween).toEqual([]);
    const stream = (await http(h.baseUrl, 'GET', `/transport-orders/${orderId}/domain-events`)).body as {
      type: string;
      sequence: number;
    }[];
    expect(stream.map((e) => e.sequence)).toEqual(stream.map((_, i) => i + 1));
    expect(stream.slice(-3).map((e) => e.type)).toEqual(['OperatorActionRecorded', 'StepCompleted', 'SagaCompleted']);

    // The decision is taken: the same one again is harmless, the other one is refused.
    expect((await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/approve`)).status).toBe(202);
    expect((await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/reject`, {})).status).toBe(409);
  });

  test('rejected: vehicle unassigned and released, every parcel taken off in reverse order, order cancelled', async () => {
    const ids = await parcels(1, 2, 3);
    const orderId = await start({ parcelIds: ids });
    await untilPending(orderId);
    const reject = await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/reject`, { reason: 'too expensive' });
    expect(reject.status).toBe(202);

    const state = await waitForSaga<TransportOrderState>(handle(orderId));
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.failure).toEqual({
      step: 'awaitDecision',
      type: 'Rejected',
      message: expect.stringContaining('too expensive'),
    });

    const { scheduled } = await activityHistory(orderId);
    expect(scheduled.map((s) => (s.input?.parcelId ? `${s.name}:${s.input.parcelId}` : s.name))).toEqual([
      'createTransportOrder',
      ...ids.map((id) => `addParcelToTransport:${id}`),
      'chooseVehicle',
      'reserveVehicleResource',
      'assignVehicle',
      'unassignVehicle',
      'releaseVehicleResource',
      ...[...ids].reverse().map((id) => `removeParcelFromTransport:${id}`),
      'cancelTransportOrder',
    ]);
    expect((await parcelDocs(ids)).map((p) => p.transportOrderId)).toEqual([null, null, null]);
    const vehicle = await http(h.baseUrl, 'GET', `/transport-vehicles/${state.vehicleId}`);
    expect((vehicle.body.reservations as { orderId: string }[]).some((r) => r.orderId === orderId)).toBe(false);
    const { transportOrders } = transportCollections(h.db);
    expect(await transportOrders.findOne({ orderId })).toMatchObject({ status: 'CANCELLED', vehicle: null });

    expect((await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/approve`)).status).toBe(409);
  });

  test('no decision before the deadline set on the order: the saga compensates everything', async () => {
    const ids = await parcels(4, 4);
    const orderId = await start({ parcelIds: ids, decisionTimeoutSeconds: 1 });
    const state = await waitForSaga<TransportOrderState>(handle(orderId));
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.decision).toBe('TIMED_OUT');
    expect(state.failure).toMatchObject({ step: 'awaitDecision', type: 'DecisionTimedOut' });
    expect(state.steps.filter((s) => s.compensation).every((s) => s.status === 'COMPENSATED')).toBe(true);
    expect((await parcelDocs(ids)).map((p) => p.transportOrderId)).toEqual([null, null]);
  });

  test('a failure after the parallel additions (no vehicle holds 1800 kg) takes every parcel off again', async () => {
    const ids = await parcels(600, 600, 600);
    const orderId = await start({ parcelIds: ids });
    const state = await waitForSaga<TransportOrderState>(handle(orderId));
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.failure).toMatchObject({ step: 'chooseVehicle', type: 'NoVehicleAvailable' });
    const { scheduled } = await activityHistory(orderId);
    expect(scheduled.filter((s) => s.name === 'removeParcelFromTransport').map((s) => s.input?.parcelId)).toEqual(
      [...ids].reverse(),
    );
    expect((await parcelDocs(ids)).map((p) => p.transportOrderId)).toEqual([null, null, null]);
  });

  test('a parcel already on another transport order fails its addition; the other additions are undone', async () => {
    const [taken] = await parcels(2);
    const first = await start({ parcelIds: [taken] });
    await untilPending(first);
    const free = await parcels(3, 3);
    const orderId = await start({ parcelIds: [free[0], taken, free[1]] });
    const state = await waitForSaga<TransportOrderState>(handle(orderId));
    expect(state.failure).toMatchObject({ step: `addParcel:${taken}`, type: 'ParcelUnavailable' });
    expect((await parcelDocs(free)).map((p) => p.transportOrderId)).toEqual([null, null]);
    expect((await http(h.baseUrl, 'GET', `/parcels/${taken}`)).body.transportOrderId).toBe(first); // untouched
    await http(h.baseUrl, 'POST', `/transport-orders/${first}/reject`, {});
    await waitForSaga(handle(first));
  });

  test('approve and reject sent at the same moment: exactly one answers 202 and it is the decision the saga took', async () => {
    const sagas = 6;
    const orderIds: string[] = [];
    for (let i = 0; i < sagas; i++) orderIds.push(await start({ parcelIds: await parcels(1) }));
    for (const orderId of orderIds) expect((await untilPending(orderId)).pendingDecision).not.toBeNull();

    // Both requests of every saga in flight together, all sagas at once.
    const answers = await Promise.all(
      orderIds.map(async (orderId) => {
        const [approve, reject] = await Promise.all([
          http(h.baseUrl, 'POST', `/transport-orders/${orderId}/approve`),
          http(h.baseUrl, 'POST', `/transport-orders/${orderId}/reject`, { reason: 'race' }),
        ]);
        return { orderId, approve, reject };
      }),
    );
    for (const { orderId, approve, reject } of answers) {
      expect({ orderId, statuses: [approve.status, reject.status].sort() }).toEqual({ orderId, statuses: [202, 409] });
      const winner = approve.status === 202 ? approve : reject;
      const loser = approve.status === 202 ? reject : approve;
      expect(loser.headers.get('content-type')).toContain('application/problem+json');
      const state = await waitForSaga<TransportOrderState>(handle(orderId));
      expect({ orderId, decision: state.decision }).toEqual({ orderId, decision: winner.body.decision });
      expect(state.status).toBe(state.decision === 'APPROVED' ? SagaStatus.COMPLETED : SagaStatus.COMPENSATED);
    }
  });

  test('Idempotency-Key: a retry gets the first answer, even after a lost one; never a second saga', async () => {
    const post = (body: unknown, key: string) =>
      http(h.baseUrl, 'POST', '/transport-orders', body, { 'Idempotency-Key': key });
    const body = { customerId, parcelIds: await parcels(1) }; // no orderId: the key's record fixes the generated one
    const key = unique('key');
    const first = await post(body, key);
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const orderId = first.body.orderId as string;
    const retry = await post({ parcelIds: body.parcelIds, customerId }, key); // key order does not matter
    expect([retry.status, retry.body, retry.headers.get('idempotent-replayed')]).toEqual([202, first.body, 'true']);
    expect(retry.headers.get('location')).toBe(`/transport-orders/${orderId}`);
    expect((await post({ ...body, priority: 'LOW' }, key)).status).toBe(422);

    // The first attempt started the saga but its answer was lost before it was recorded: the retry recognises it.
    await idempotencyKeys(h.db).updateOne({ _id: key }, { $set: { response: null } });
    const afterLoss = await post(body, key);
    expect([afterLoss.status, afterLoss.body]).toEqual([202, first.body]);

    // Concurrent duplicates all name one saga.
    const dupKey = unique('key');
    const dupBody = { customerId, parcelIds: await parcels(1) };
    const dups = await Promise.all([1, 2, 3].map(() => post(dupBody, dupKey)));
    expect(dups.map((d) => d.status)).toEqual([202, 202, 202]);
    expect(new Set(dups.map((d) => `${d.body.orderId}/${d.body.runId}`)).size).toBe(1);

    // A 409 (order id taken by another request) is final for its key: replayed, not retried.
    const takenKey = unique('key');
    const taken = await post({ ...body, orderId }, takenKey);
    expect(taken.status).toBe(409);
    const takenAgain = await post({ ...body, orderId }, takenKey);
    expect([takenAgain.status, takenAgain.headers.get('idempotent-replayed')]).toEqual([409, 'true']);
    expect(takenAgain.headers.get('content-type')).toContain('application/problem+json');
    expect((await post(body, 'not a key')).status).toBe(400);

    for (const id of [orderId, dups[0]!.body.orderId as string]) {
      await untilPending(id);
      expect((await http(h.baseUrl, 'POST', `/transport-orders/${id}/reject`, {})).status).toBe(202);
      await waitForSaga(handle(id));
    }
  });

  test('client mistakes answer 4xx problems; a second start with the same order id answers 409', async () => {
    const [p] = await parcels(1);
    const cases: [string, string, unknown, number][] = [
      ['POST', '/transport-orders', { customerId, parcelIds: [] }, 400],
      ['POST', '/transport-orders', { customerId, parcelIds: [p, p] }, 400],
      ['POST', '/transport-orders', { customerId, parcelIds: [p], decisionTimeoutSeconds: 0 }, 400],
      ['POST', '/transport-orders', { customerId, parcelIds: [p], priority: 'URGENT' }, 400],
      ['POST', '/transport-orders', { customerId: unique('nobody'), parcelIds: [p] }, 422],
      ['GET', `/transport-orders/${unique('nope')}`, undefined, 404],
      ['POST', `/transport-orders/${unique('nope')}/approve`, undefined, 404],
      ['POST', `/transport-orders/${unique('nope')}/reject`, { reason: 'x' }, 404],
      ['POST', '/parcels', { weightKg: 0 }, 400],
      ['POST', '/parcels', { id: p, weightKg: 1 }, 409],
      ['GET', `/parcels/${unique('nope')}`, undefined, 404],
      ['POST', '/transport-vehicles', { name: 'x', capacityKg: -1, pricePerService: 1 }, 400],
      ['GET', `/transport-vehicles/${unique('nope')}`, undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await http(h.baseUrl, method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const orderId = await start({ parcelIds: [p] });
    const again = await http(h.baseUrl, 'POST', '/transport-orders', { orderId, customerId, parcelIds: [p] });
    expect(again.status).toBe(409);
    await untilPending(orderId);
    await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/reject`, {});
    await waitForSaga(handle(orderId));
  });
});

describe('cancelling and retrying a transport order through the API, as an order', () => {
  test('cancel while it waits for a decision: 202, every step undone in reverse, state cancelled; again 409', async () => {
    const ids = await parcels(2, 3);
    const orderId = await start({ parcelIds: ids });
    const pending = await untilPending(orderId);
    expect(pending.status).toBe(SagaStatus.RUNNING);

    const cancel = await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.headers.get('location')).toBe(`/transport-orders/${orderId}`);
    expect(cancel.body).toEqual({ orderId, cancelRequested: true, status: 'RUNNING' });

    const state = await waitForSaga<TransportOrderState>(handle(orderId));
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.cancelled).toBe(true);
    expect(state.failure).toMatchObject({ step: 'awaitDecision', type: 'Cancelled' });
    expect(state.steps.filter((x) => x.compensation).map((x) => x.status)).toEqual(
      state.steps.filter((x) => x.compensation).map(() => 'COMPENSATED'),
    );
    expect((await handle(orderId).describe()).status.name).toBe('CANCELLED');
    const { scheduled } = await activityHistory(orderId);
    expect(scheduled.slice(-(ids.length + 3)).map((x) => x.name)).toEqual([
      'unassignVehicle',
      'releaseVehicleResource',
      ...ids.map(() => 'removeParcelFromTransport'),
      'cancelTransportOrder',
    ]);
    expect((await parcelDocs(ids)).map((p) => p.transportOrderId)).toEqual([null, null]);
    const vehicle = await http(h.baseUrl, 'GET', `/transport-vehicles/${state.vehicleId}`);
    expect((vehicle.body.reservations as { orderId: string }[]).some((r) => r.orderId === orderId)).toBe(false);

    const again = await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/cancel`);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect((await http(h.baseUrl, 'GET', `/transport-orders/${orderId}`)).body).toEqual(state);
    expect((await http(h.baseUrl, 'POST', `/transport-orders/${unique('nope')}/cancel`)).status).toBe(404);
    expect((await http(h.baseUrl, 'POST', '/transport-orders/%24gt/cancel')).status).toBe(400);
  });

  test('retry-compensation: a FAILED one retries from the compensation that failed and ends COMPENSATED', async () => {
    // A compensation that fails for good (the harness's hooks, docs/faults.md).
    const [p] = await parcels(1);
    const orderId = unique('tr');
    const input: TransportOrderInput = { orderId, customerId, parcelIds: [p!], decisionTimeoutMs: 1_000 };
    const fault = h.hooks.add({
      workflowId: transportWorkflowId(orderId),
      activity: 'removeParcelFromTransport',
      fatal: 'always',
    });
    await h.client.workflow.start(TRANSPORT_ORDER, {
      taskQueue: h.taskQueue,
      workflowId: transportWorkflowId(orderId),
      args: [input],
      typedSearchAttributes: [
        { key: SagaStatusKey, value: SagaStatus.RUNNING },
        { key: CustomerIdKey, value: customerId },
      ],
    });
    const failed = await waitForSaga<TransportOrderState>(handle(orderId));
    expect(failed.status).toBe(SagaStatus.FAILED);
    expect((await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/cancel`)).status).toBe(409);

    // The cause fixed: the fault taken away, then the operator's retry.
    h.hooks.remove(fault);
    const retry = await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/retry-compensation`);
    expect(retry.status).toBe(202);
    expect(retry.headers.get('location')).toBe(`/transport-orders/${orderId}`);
    expect(retry.body).toEqual({
      orderId,
      retryRequested: true,
      compensation: 'removeParcelFromTransport',
      step: addParcelStep(p!),
    });
    const state = await waitForSaga<TransportOrderState>(handle(orderId), { statuses: [SagaStatus.COMPENSATED] });
    expect(state.compensationFailure).toBeNull();
    expect((await parcelDocs([p!])).map((x) => x.transportOrderId)).toEqual([null]);

    const late = await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/retry-compensation`);
    expect(late.status).toBe(409);
    expect(late.headers.get('content-type')).toContain('application/problem+json');
  });

  test('retry-compensation of one that is not FAILED answers 409, of an unknown one 404', async () => {
    const [p] = await parcels(1);
    const orderId = await start({ parcelIds: [p] });
    await untilPending(orderId);
    const res = await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/retry-compensation`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:problem:conflict', status: 409 });
    expect((await http(h.baseUrl, 'POST', `/transport-orders/${unique('nope')}/retry-compensation`)).status).toBe(404);
    expect((await http(h.baseUrl, 'POST', '/transport-orders/%7B%7D/retry-compensation')).status).toBe(400);
    expect((await http(h.baseUrl, 'POST', `/transport-orders/${orderId}/reject`, {})).status).toBe(202);
    await waitForSaga(handle(orderId));
  });
});

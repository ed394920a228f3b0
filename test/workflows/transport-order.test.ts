/**
 * The transport order saga's logic on the time-skipping test server, with mocked participants: the
 * parallel fan-out and its join, the reverse compensation of every parcel, and the decision with its
 * deadline (24 hours of workflow time pass in a moment).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { getStateQuery } from '../../common/definitions';
import { BusinessFailure } from '../../common/failures';
import { SagaStatus } from '../../common/saga-state';
import {
  approveSignal,
  DECISION_REFUSED,
  decideUpdate,
  DEFAULT_DECISION_TIMEOUT_MS,
  rejectSignal,
  TRANSPORT_ORDER,
  transportWorkflowId,
  type TransportOrderInput,
  type TransportOrderState,
} from '../../common/transport';
import type { makeTransportOrder } from '../../workflows';
import { done, mockWorker, ok, timeSkippingEnv, type HistoryEvent } from './support';
import { sagaResult } from '../../common/saga-result';

/** Participants that record every call and can be told to fail. */
function mockParticipants(fail: { addParcel?: string; chooseVehicle?: boolean } = {}) {
  const calls: string[] = [];
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const activities = {
    createTransportOrder() {
      calls.push('createTransportOrder');
      return done('applied');
    },
    cancelTransportOrder() {
      calls.push('cancelTransportOrder');
      return done('undone');
    },
    async addParcelToTransport({ parcelId }: { parcelId: string }) {
      calls.push(`addParcel:${parcelId}`);
      await wait(50); // long enough that a sequential saga would schedule the next one only after this
      if (fail.addParcel === parcelId) {
        throw ApplicationFailure.nonRetryable(`Parcel ${parcelId} does not exist`, BusinessFailure.UnknownParcel);
      }
      return ok({ outcome: 'applied', weightKg: 10 });
    },
    removeParcelFromTransport({ parcelId }: { parcelId: string }) {
      calls.push(`removeParcel:${parcelId}`);
      return done('undone');
    },
    chooseVehicle() {
      calls.push('chooseVehicle');
      if (fail.chooseVehicle) {
        return Promise.reject(
          ApplicationFailure.nonRetryable('No transport vehicle can carry 30 kg', BusinessFailure.NoVehicleAvailable),
        );
      }
      return done({ vehicleId: 'truck-1', priceCents: 12_500 });
    },
    reserveVehicleResource({ fromDate }: { fromDate: string }) {
      calls.push('reserveVehicleResource');
      return done({ outcome: 'applied', date: fromDate });
    },
    releaseVehicleResource() {
      calls.push('releaseVehicleResource');
      return done('undone');
    },
    assignVehicle() {
      calls.push('assignVehicle');
      return done('applied');
    },
    unassignVehicle() {
      calls.push('unassignVehicle');
      return done('undone');
    },
  };
  return { calls, activities };
}

const forward = ['createTransportOrder', 'addParcel:p1', 'addParcel:p2', 'addParcel:p3'];
/** Every compensation after the vehicle was assigned, in the order they must run. */
const fullCompensation = [
  'unassignVehicle',
  'releaseVehicleResource',
  'removeParcel:p3',
  'removeParcel:p2',
  'removeParcel:p1',
  'cancelTransportOrder',
];

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => env?.teardown());

async function withWorker<T>(activities: object, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `transport-${randomUUID()}`;
  const worker: Worker = await mockWorker(env, taskQueue, activities);
  return worker.runUntil(fn(taskQueue));
}

function input(overrides: Partial<TransportOrderInput> = {}): TransportOrderInput {
  return { orderId: randomUUID().slice(0, 8), customerId: 'cust-1', parcelIds: ['p1', 'p2', 'p3'], ...overrides };
}

async function start(taskQueue: string, args: TransportOrderInput) {
  return env.client.workflow.start<typeof makeTransportOrder>(TRANSPORT_ORDER, {
    taskQueue,
    workflowId: transportWorkflowId(args.orderId),
    args: [args],
  });
}

/** Polls the state until the saga waits for a decision (time does not skip while we only query). */
async function untilPending(handle: Awaited<ReturnType<typeof start>>): Promise<TransportOrderState> {
  for (let i = 0; i < 200; i++) {
    const state = (await handle.query(getStateQuery)) as TransportOrderState;
    if (state.pendingDecision) return state;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the saga never waited for a decision');
}

describe('transport order saga (time-skipping, mocked participants)', () => {
  test('parcels are added in parallel: all scheduled in one workflow task, before any of them completes', async () => {
    const { activities } = mockParticipants();
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      await untilPending(handle);
      await handle.signal(approveSignal);
      await sagaResult(handle);

      const events: HistoryEvent[] = (await handle.fetchHistory()).events ?? [];
      const parcelActivity = new Map<string, string>(); // scheduled event id -> parcel step
      const scheduled: { index: number; task: string }[] = [];
      events.forEach((e, index) => {
        const attrs = e.activityTaskScheduledEventAttributes;
        if (attrs?.activityType?.name === 'addParcelToTransport') {
          parcelActivity.set(String(e.eventId), attrs.activityId ?? '');
          scheduled.push({ index, task: String(attrs.workflowTaskCompletedEventId) });
        }
      });
      const completed = events
        .map((e, index) => ({ index, id: String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') }))
        .filter(({ id }) => parcelActivity.has(id));
      expect(scheduled).toHaveLength(3);
      expect(completed).toHaveLength(3);
      expect(new Set(scheduled.map((s) => s.task)).size).toBe(1); // one workflow task scheduled all three
      expect(Math.max(...scheduled.map((s) => s.index))).toBeLessThan(Math.min(...completed.map((c) => c.index)));
    });
  });

  test('approved before the deadline: the saga completes and nothing is compensated', async () => {
    const { calls, activities } = mockParticipants();
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const pending = await untilPending(handle);
      const startedAt = await env.currentTimeMs();
      expect(Date.parse(pending.pendingDecision!.deadline)).toBeGreaterThan(
        startedAt + DEFAULT_DECISION_TIMEOUT_MS - 60_000,
      );
      await handle.signal(approveSignal);
      const state = await sagaResult(handle);

      expect(state.status).toBe(SagaStatus.COMPLETED);
      expect(state.decision).toBe('APPROVED');
      // An old-style approve signal names no actor: recorded as unknown.
      expect(state.operatorActions).toEqual([
        { action: 'approve', by: 'unknown', byKind: 'unknown', reason: null, at: expect.any(String) },
      ]);
      expect(state.pendingDecision).toBeNull();
      expect(state.failure).toBeNull();
      expect(state).toMatchObject({ vehicleId: 'truck-1', price: 125, totalWeightKg: 30, priority: 'NORMAL' });
      expect(state.steps.map((s) => [s.name, s.status])).toEqual([
        ['createTransportOrder', 'COMPLETED'],
        ['addParcel:p1', 'COMPLETED'],
        ['addParcel:p2', 'COMPLETED'],
        ['addParcel:p3', 'COMPLETED'],
        ['chooseVehicle', 'COMPLETED'],
        ['reserveVehicleResource', 'COMPLETED'],
        ['assignVehicle', 'COMPLETED'],
        ['awaitDecision', 'COMPLETED'],
      ]);
      expect(calls.filter((c) => !forward.includes(c))).toEqual([
        'chooseVehicle',
        'reserveVehicleResource',
        'assignVehicle',
      ]);
    });
  });

  test('rejected: every step, the three parallel parcel additions included, is undone in reverse order', async () => {
    const { calls, activities } = mockParticipants();
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      await untilPending(handle);
      await handle.signal(rejectSignal, { reason: 'too expensive' });
      const state = await sagaResult(handle);

      expect(state.status).toBe(SagaStatus.COMPENSATED);
      expect(state.decision).toBe('REJECTED');
      expect(state.operatorActions).toEqual([
        { action: 'reject', by: 'unknown', byKind: 'unknown', reason: 'too expensive', at: expect.any(String) },
      ]);
      expect(state.failure).toEqual({
        step: 'awaitDecision',
        type: 'Rejected',
        message: expect.stringContaining('too expensive'),
      });
      expect(calls.slice(4)).toEqual(['chooseVehicle', 'reserveVehicleResource', 'assignVehicle', ...fullCompensation]);
    });
  });

  test('decide update: refused while no decision is pending, then the first decision wins and the other is refused', async () => {
    const { calls, activities } = mockParticipants();
    let assign!: () => void;
    const assigned = new Promise<void>((resolve) => (assign = resolve));
    const gated = {
      ...activities,
      async assignVehicle() {
        await assigned; // holds the saga before its decision step
        return activities.assignVehicle();
      },
    };
    const refusal = (err: unknown) => {
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      const cause = (err as WorkflowUpdateFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe(DECISION_REFUSED);
      return cause!.message;
    };
    await withWorker(gated, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      for (let i = 0; i < 200 && !calls.includes('reserveVehicleResource'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const early = await handle.executeUpdate(decideUpdate, { args: [{ decision: 'APPROVED' }] }).catch(refusal);
      expect(early).toMatch(/not waiting for a decision/);
      assign();
      const state0 = await untilPending(handle);

      const rejected = await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'REJECTED', reason: 'too expensive', by: 'erin', byKind: 'jwt' }],
      });
      expect(rejected).toEqual({ orderId: state0.orderId, decision: 'REJECTED' });
      // The same decision again is accepted and changes nothing; the other one is refused.
      expect(
        await handle.executeUpdate(decideUpdate, { args: [{ decision: 'REJECTED', by: 'frank', byKind: 'api-key' }] }),
      ).toMatchObject({
        decision: 'REJECTED',
      });
      const late = await handle.executeUpdate(decideUpdate, { args: [{ decision: 'APPROVED' }] }).catch(refusal);
      expect(late).toMatch(/already decided: REJECTED/);

      const state = await sagaResult(handle);
      expect(state.status).toBe(SagaStatus.COMPENSATED);
      expect([state.decision, state.decisionReason]).toEqual(['REJECTED', 'too expensive']);
      // The decision taken is recorded with its actor; the repeat that changed nothing is not.
      expect(state.operatorActions).toEqual([
        { action: 'reject', by: 'erin', byKind: 'jwt', reason: 'too expensive', at: expect.any(String) },
      ]);
      expect(state.failure?.type).toBe('Rejected');
      // A refused update leaves no trace in the history; the accepted ones do.
      const events: HistoryEvent[] = (await handle.fetchHistory()).events ?? [];
      expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(2);
    });
  });

  test('no decision: when the 24-hour deadline passes the saga compensates everything', async () => {
    const { calls, activities } = mockParticipants();
    await withWorker(activities, async (taskQueue) => {
      const before = await env.currentTimeMs();
      const handle = await start(taskQueue, input());
      const state = await sagaResult(handle); // the test server skips the 24 hours

      expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(before + DEFAULT_DECISION_TIMEOUT_MS);
      expect(state.status).toBe(SagaStatus.COMPENSATED);
      expect(state.decision).toBe('TIMED_OUT');
      expect(state.pendingDecision).toBeNull();
      expect(state.failure).toMatchObject({ step: 'awaitDecision', type: 'DecisionTimedOut' });
      expect(calls.slice(4)).toEqual(['chooseVehicle', 'reserveVehicleResource', 'assignVehicle', ...fullCompensation]);
    });
  });

  test('a decision timeout set on the order applies instead of the default', async () => {
    const { activities } = mockParticipants();
    await withWorker(activities, async (taskQueue) => {
      const before = await env.currentTimeMs();
      const handle = await start(taskQueue, input({ decisionTimeoutMs: 2 * 60 * 60 * 1000 }));
      const pending = await untilPending(handle);
      const waitMs = Date.parse(pending.pendingDecision!.deadline) - before;
      expect(waitMs).toBeGreaterThanOrEqual(2 * 60 * 60 * 1000 - 60_000);
      expect(waitMs).toBeLessThanOrEqual(2 * 60 * 60 * 1000 + 60_000);
      const state = await sagaResult(handle);
      expect(state.failure?.type).toBe('DecisionTimedOut');
    });
  });

  test('a failure after the parallel additions (no vehicle) compensates every parcel, last pushed first', async () => {
    const { calls, activities } = mockParticipants({ chooseVehicle: true });
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const state = await sagaResult(handle);

      expect(state.status).toBe(SagaStatus.COMPENSATED);
      expect(state.failure).toMatchObject({ step: 'chooseVehicle', type: 'NoVehicleAvailable' });
      expect(calls.slice(4)).toEqual([
        'chooseVehicle',
        'removeParcel:p3',
        'removeParcel:p2',
        'removeParcel:p1',
        'cancelTransportOrder',
      ]);
      expect(state.steps.filter((s) => s.name.startsWith('addParcel')).map((s) => s.status)).toEqual([
        'COMPENSATED',
        'COMPENSATED',
        'COMPENSATED',
      ]);
    });
  });

  test('one parallel addition failing: the others finish first (join), then all are compensated', async () => {
    const { calls, activities } = mockParticipants({ addParcel: 'p2' });
    await withWorker(activities, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const state = await sagaResult(handle);

      expect(state.status).toBe(SagaStatus.COMPENSATED);
      expect(state.failure).toMatchObject({ step: 'addParcel:p2', type: 'UnknownParcel' });
      expect(calls.slice(4)).toEqual(['removeParcel:p3', 'removeParcel:p2', 'removeParcel:p1', 'cancelTransportOrder']);
      expect(state.steps.find((s) => s.name === 'addParcel:p2')?.error?.type).toBe('UnknownParcel');
    });
  });
});

/**
 * The benchmark's CI guard: a small fixed run of the benchmark's workload on our worker that fails
 * when a saga needs more history events or more MongoDB writes than the tuned design does.
 * Counts, not times, so it is stable on a noisy machine. If a change adds events or writes on
 * purpose, re-run `npm run bench`, explain the cost in docs/performance.md, and update the limits.
 */
import { dataConverterFromEnv } from '../../codec/data-converter';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { ORDER_SAGA, orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { createSagaWorker } from '../../workers/create-worker';
import { readStream } from '../../store/domain-events';
import { FAILING_STEPS, orderFailingAt, seed, SERVED_COUNTRIES, type FailingStep } from '../../bench/lib/workload';
import { executedActivities, requireEnv } from '../support/harness';
import { sagaResult } from '../../common/saga-result';
import { putSagaConfig, sagaConfigCollection } from '../../store/saga-config';
import { readShippedConfig } from '../../scripts/lib/shipped-config';
import { SagaType } from '../../common/domain-events';

/**
 * What one saga of the tuned design needs: history events, and MongoDB write commands (insert,
 * update, delete, findAndModify) issued by its participants. Keyed by the step it fails at.
 */
// Measured on the tuned design: since `patched('local-participant-calls')` the steps are local activities, one
// MarkerRecorded event each, run inside the workflow task, except processPayment, which stays a regular activity
// (STEP_CALLS in workflows/order-saga.ts): 6 events for its workflow-task + activity round trip (was: 6 events per
// step, 53 for a completed saga). The compensations stay regular activities: 6 events each (scheduled, started,
// completed, and the workflow task that follows). The completed saga includes the loyalty signal behind
// `patched('loyalty-signal')` (a regular activity). Started here without search attributes, so the saga upserts
// SagaStatus and CustomerId itself: two events more than a start through the API (28 for a completed saga, see
// test/histories/completed-local-activities.json). MongoDB writes are unchanged: one per effect and one per
// compensation (a tombstone when there was nothing to undo).
// Domain events (docs/events.md "What it costs") add, per saga, one appendDomainEvents local activity per
// transition (a MarkerRecorded event each, run inside the workflow task) and the patch's own marker: 41 events
// for a completed saga (was 30), 29 at reserveCredit (was 20), and so on below (was 27, 39, 46, 53); the same
// on every run. Their MongoDB writes are counted apart (`recordWrites`): an insert per event and a write of the
// view per event, about two per transition (18, 16, 19, 22, 28, 30 on a quiet machine, more when appends overlapped).
// The participants' writes are unchanged and exact. The outbox (docs/events.md "Broker") added one marker insert per
// event, counted apart (`outboxWrites`). (Both before the per-task batches below.)
// The carrier's choice at the saga's start (`patched('carrier-choice')`, docs/sagas.md "A participant over the
// broker") adds three events on every path: the patch's marker, the TemporalChangeVersion search attribute the SDK
// upserts with it, and the `chooseCarrier` local activity's marker (44 for a completed saga, was 41).
// A compensated saga closing as failed (`patched('compensated-closes-failed')`, docs/sagas.md) adds two events on
// every compensating path: the patch's marker and its TemporalChangeVersion upsert. The stored configuration's
// choice (`patched('saga-config')`, docs/sagas.md "Stored configuration") adds three on every path the same way: its
// marker, the TemporalChangeVersion upsert, the `readSagaConfig` marker (47 completed, was 44); it reads MongoDB and
// writes nothing.
// The loyalty notification in the last workflow task (`patched('loyalty-in-task')`, evaluated at the start: its
// marker and TemporalChangeVersion upsert on every path, +2) is a local activity's marker instead of a regular
// activity and the workflow task after it (-6 +1): 44 for a completed saga (was 47), every compensating path +2.
// With the shipped config/saga-config/order-one-task.json (processPayment local too) a completed saga is ONE
// workflow task: 37 events here (35 when started through the API, which sets the search attributes; 3 are the task
// itself; docs/performance.md, "One workflow task per saga").
// Since `patched('domain-events-per-task')` (evaluated at the start: its marker and TemporalChangeVersion upsert,
// +2 on every path) the events of local steps are held and appended in one batch where the saga next waits on
// something else (workflows/saga/domain-events.ts): a completed saga appends twice (before processPayment and at
// its end) instead of at each of its 9 transitions, 37 events (was 44); a compensating path appends once more
// before each compensation. A batch is 2 record writes (one insert of its events, one write of the view) and one
// outbox write (one insert of its markers), whatever its length: the counts below are exact, since a batch starts
// only once the one before it is stored (none overlap). With the one-task configuration a completed saga is 31
// events (29 through the API) and one append. Such a saga also evaluates `patched('compensated-closes-failed')` at
// its start instead of its end (a query's replay failed when it came after the last append in the same task): +2
// events on the completed paths (39, one-task 33, 31 through the API), none on the compensating ones.
const LIMITS: Record<'completed' | FailingStep, { events: number; writes: number; appends: number }> = {
  completed: { events: 39, writes: 5, appends: 2 },
  reserveCredit: { events: 36, writes: 2, appends: 2 },
  reserveInventory: { events: 44, writes: 4, appends: 3 },
  processPayment: { events: 58, writes: 6, appends: 5 },
  createShipment: { events: 66, writes: 8, appends: 6 },
  reserveVehicle: { events: 74, writes: 10, appends: 7 },
};
const ONE_TASK = { events: 33, workflowTasks: 1, appends: 1 };

const WRITE_COMMANDS = new Set(['insert', 'update', 'delete', 'findAndModify']);
/** The saga's record (docs/events.md): its domain events and its read-model view, counted apart from participants'. */
const RECORD_COLLECTIONS = new Set(['domainEvents', 'sagaViews']);

let mongo: MongoClient;
let db: Db;
let writes = 0;
let recordWrites = 0;
let outboxWrites = 0;
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `guard-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  mongo = new MongoClient(requireEnv('MONGODB_URI'), { monitorCommands: true });
  await mongo.connect();
  db = mongo.db(`${requireEnv('MONGODB_DB')}_guard_${taskQueue.slice(6)}`);
  await seed(db);
  mongo.on('commandStarted', (e: CommandStartedEvent) => {
    if (!WRITE_COMMANDS.has(e.commandName)) return;
    const collection = String((e.command as Record<string, unknown>)[e.commandName]);
    if (RECORD_COLLECTIONS.has(collection)) recordWrites++;
    else if (collection === 'outbox') outboxWrites++;
    else writes++;
  });
  const address = requireEnv('TEMPORAL_ADDRESS');
  nativeConnection = await NativeConnection.connect({ address });
  connection = await Connection.connect({ address });
  client = new Client({ connection, dataConverter: dataConverterFromEnv() });
  worker = await createSagaWorker({
    dataConverter: dataConverterFromEnv(),
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    db,
    servedCountries: SERVED_COUNTRIES,
    temporal: client,
    workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') },
    shutdownGraceSeconds: 2,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
  await db?.dropDatabase().catch(() => undefined);
  await mongo?.close();
});

/** Runs one saga alone and returns what it cost. */
async function measure(failAt: FailingStep | null) {
  const { input } = orderFailingAt(failAt, `guard-${randomUUID().slice(0, 8)}`);
  const before = writes;
  const beforeRecord = recordWrites;
  const beforeOutbox = outboxWrites;
  const handle = await client.workflow.start(ORDER_SAGA, {
    taskQueue,
    workflowId: orderWorkflowId(input.orderId),
    args: [input],
  });
  const state = (await sagaResult(handle)) as OrderState;
  const history = await handle.fetchHistory();
  return {
    status: state.status,
    events: history.events?.length ?? 0,
    workflowTasks: history.events?.filter((e) => e.workflowTaskCompletedEventAttributes).length ?? 0,
    writes: writes - before,
    recordWrites: recordWrites - beforeRecord,
    outboxWrites: outboxWrites - beforeOutbox,
    streamLength: (await readStream(db, handle.workflowId)).length,
    appends: (await executedActivities(handle)).filter((a) => a.name === 'appendDomainEvents').length,
  };
}

/** The saga's record: `appends` batches, each one insert of events, one of markers and one write of the view. */
function expectRecordCost(cost: Awaited<ReturnType<typeof measure>>, appends: number): void {
  expect(cost.appends).toBe(appends);
  expect(cost.recordWrites).toBe(2 * appends);
  expect(cost.outboxWrites).toBe(appends);
  expect(cost.streamLength).toBeGreaterThan(appends); // every event stored, in fewer batches
}

describe('the cost of one order saga stays within what the tuned design needs', () => {
  test('a saga that completes', async () => {
    const cost = await measure(null);
    expect(cost.status).toBe(SagaStatus.COMPLETED);
    expect(cost.events).toBeLessThanOrEqual(LIMITS.completed.events);
    expect(cost.writes).toBeLessThanOrEqual(LIMITS.completed.writes);
    expectRecordCost(cost, LIMITS.completed.appends);
  });

  test('with the shipped one-task configuration, a saga that completes is one workflow task', async () => {
    const configs = sagaConfigCollection(db);
    const by = { by: 'guard', byKind: 'cli' } as const;
    await putSagaConfig(configs, SagaType.order, readShippedConfig(SagaType.order, 'one-task'), by);
    try {
      const cost = await measure(null);
      expect(cost.status).toBe(SagaStatus.COMPLETED);
      expect(cost.workflowTasks).toBe(ONE_TASK.workflowTasks);
      expect(cost.events).toBeLessThanOrEqual(ONE_TASK.events);
      expect(cost.writes).toBeLessThanOrEqual(LIMITS.completed.writes);
      expectRecordCost(cost, ONE_TASK.appends);
    } finally {
      await putSagaConfig(configs, SagaType.order, {}, by);
    }
  });

  test.each(FAILING_STEPS)('a saga that fails at %s and compensates', async (step) => {
    const cost = await measure(step);
    expect(cost.status).toBe(SagaStatus.COMPENSATED);
    expect(cost.events).toBeLessThanOrEqual(LIMITS[step].events);
    expect(cost.writes).toBeLessThanOrEqual(LIMITS[step].writes);
    expectRecordCost(cost, LIMITS[step].appends);
  });
});

import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { getStateQuery } from '../../common/definitions';
import type { OrderState } from '../../common/order';
import type { SagaStatus } from '../../common/saga-state';
import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { temporal as temporalProto, type temporal } from '@temporalio/proto';
import { searchAttributeDefinitions } from '../../common/search-attributes';
import { workflowsPath } from '../../workers/create-worker';
import type { DomainEvent, DomainEventBatch } from '../../common/domain-events';

let runtimeInstalled = false;

/** The time-skipping test server we install (never a download). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger((process.env.WF_LOG as 'WARN') ?? 'ERROR') });
    runtimeInstalled = true;
  }
  const path = process.env.TEMPORAL_TEST_SERVER ?? '.tools/venv/bin/temporal-test-server';
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
  });
  // The sagas keep search attributes up to date; the test server knows only those registered with it.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      searchAttributeDefinitions.map(({ name, type }) => [name, indexedValueType[type]]),
    ),
  });
  return env;
}

const indexedValueType = {
  Keyword: temporalProto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Double: temporalProto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
} as const;

/**
 * The dev server `npm test` started, for workflow tests that need no time skipping but the production
 * server's semantics (signals racing a continue-as-new).
 */
export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
  return TestWorkflowEnvironment.createFromExistingServer({ address });
}

/**
 * The domain events the mock workers' `appendDomainEvents` received, by workflow id, in the order of the calls
 * (one workflow test process, so one map for all of them). A test may pass its own `appendDomainEvents`.
 */
export const appendedEvents = new Map<string, DomainEvent[]>();

/** As the store does: each event once, by its id, in sequence order. */
function recordAppend({ workflowId, events }: DomainEventBatch) {
  const stream = appendedEvents.get(workflowId) ?? [];
  const fresh = events.filter((e) => !stream.some((s) => s.eventId === e.eventId));
  appendedEvents.set(
    workflowId,
    [...stream, ...fresh].sort((a, b) => a.sequence - b.sequence),
  );
  return Promise.resolve(ok({ added: fresh.length }));
}

const chooseInProcessCarrier = () => Promise.resolve({ value: { carrier: 'in-process' }, attempt: 1 });
const noStoredConfig = () => Promise.resolve({ value: { version: null, config: null }, attempt: 1 });

/**
 * A worker on the test environment running the real workflows with the given (mock) activities; `workflows`: a
 * test module of its own to bundle instead (test-only workflow types beside the real ones).
 */
export async function mockWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  given: WorkerOptions['activities'],
  workflows?: string,
): Promise<Worker> {
  // chooseCarrier: the order saga's choice at its start (patched('carrier-choice')), here the in-process carrier;
  // readSagaConfig: every saga's stored configuration (patched('saga-config')), here none. A test may pass its own.
  const activities = {
    appendDomainEvents: recordAppend,
    chooseCarrier: chooseInProcessCarrier,
    readSagaConfig: noStoredConfig,
    ...given,
  };
  const bundle = process.env.WORKFLOW_BUNDLE_PATH;
  return Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...(workflows
      ? { workflowsPath: workflows }
      : bundle
        ? { workflowBundle: { codePath: bundle } }
        : { workflowsPath }),
    activities,
  });
}

/** A mock activity's result as the real ones report it (`workers/interceptors/attempt-reporting.ts`). */
export const ok = <T>(value: T) => ({ value, attempt: 1 });

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The same, for a mock that has nothing to await. */
export const done = <T>(value: T) => Promise.resolve(ok(value));

/** The order saga's state, as its `getState` query answers. */
export const orderState = async (handle: WorkflowHandle): Promise<OrderState> =>
  (await handle.query(getStateQuery)) as OrderState;

/** Polls the state until the saga reaches one of `statuses` (time does not skip while we only query). */
export async function untilStatus(handle: WorkflowHandle, statuses: SagaStatus[]): Promise<OrderState> {
  let last: OrderState | undefined;
  for (let i = 0; i < 200; i++) {
    last = await orderState(handle);
    if (statuses.includes(last.status)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`saga never reached ${statuses.join(' or ')}; last status ${last?.status}`);
}

/** Waits until a workflow task has completed after the last signal in the history (`what`: for the error). */
export async function untilSignalHandled(handle: WorkflowHandle, what = 'the signal'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const events = (await handle.fetchHistory()).events ?? [];
    const signalled = events.map((e) => Boolean(e.workflowExecutionSignaledEventAttributes)).lastIndexOf(true);
    if (signalled >= 0 && events.slice(signalled).some((e) => e.workflowTaskCompletedEventAttributes)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} was never handled by a workflow task`);
}

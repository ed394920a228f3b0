import type { temporal } from '@temporalio/proto';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { addVehicle, orderBody, seed, snapshot, unique, type Seeded } from '../support/fixtures';
import { http, requireEnv, startHarness, waitForSaga, type Harness } from '../support/harness';
import { startTestWorker, type TestWorker } from '../support/lane';
import { killIfRunning, processEnv, startProcess } from './support';

/**
 * API_EMBEDDED_WORKER=true: the API process runs the sagas it starts, with no worker process on its task
 * queue (the first test uses a queue no other worker polls: whatever runs there, the API process ran), and
 * starts them eagerly (the server hands the first workflow task back with the start).
 */
let h: Harness;
let s: Seeded;
beforeAll(async () => {
  h = await startHarness('embedded');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 100_000, stock: 10_000 });
});
afterAll(async () => h?.stop());

/** `bootstrap/api-main.ts` with its worker embedded; `started` gives its base URL once the worker polls too. */
function startApi(taskQueue: string, extraEnv: Record<string, string> = {}) {
  const env = processEnv(h, {
    WORKFLOW_BUNDLE_PATH: requireEnv('WORKFLOW_BUNDLE_PATH'),
    TASK_QUEUE: taskQueue,
    API_EMBEDDED_WORKER: 'true',
    ...extraEnv,
  });
  const proc = startProcess(
    'bootstrap/api-main.ts',
    /listening on http:\/\/127\.0\.0\.1:(\d+)[\s\S]*Embedded worker polling/,
    env,
  );
  return { ...proc, started: proc.started.then((m) => `http://127.0.0.1:${m[1]}`) };
}

test('the API runs the sagas it starts, eagerly, and drains its worker on SIGTERM', async () => {
  const taskQueue = unique('embedded');
  const api = startApi(taskQueue);
  try {
    const baseUrl = await api.started;
    const date = '2027-07-01';
    const before = await snapshot(h, s, date);
    const orders = Array.from({ length: 3 }, () => orderBody(s, { deliveryDate: date }));
    for (const order of orders) expect((await http(baseUrl, 'POST', '/orders', order)).status).toBe(202);

    for (const order of orders) {
      const handle = h.client.workflow.getHandle(orderWorkflowId(order.orderId));
      const state = await waitForSaga<OrderState>(handle);
      expect(state.status).toBe('COMPLETED');
      const history: temporal.api.history.v1.IHistory = await handle.fetchHistory();
      const events = history.events ?? [];
      expect(events[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name).toBe(taskQueue);
      // Eager: the first workflow task was started by the API's start request (the client's identity), later
      // ones by the worker's polls (the worker's identity).
      const tasks = events.flatMap((e) => e.workflowTaskStartedEventAttributes ?? []);
      expect(tasks[0]?.identity).toMatch(/\/api$/);
      expect(tasks.length).toBeGreaterThan(1);
      for (const later of tasks.slice(1)) expect(later.identity).not.toMatch(/\/api$/);
    }
    // Each order applied exactly once at every participant
    const after = await snapshot(h, s, date);
    expect(after.stock).toBe(before.stock! - 3 * 2);
    expect(after.vehicleLoad).toBe(before.vehicleLoad + 3);

    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expect(api.output()).toContain('API stopped');
  } finally {
    killIfRunning(api.child);
  }
});

test('SIGTERM mid-saga: the running payment finishes within the grace time, the API exits 0, the next worker completes the saga once', async () => {
  // The API's worker is the only one on the harness's queue until it exits.
  if (h.worker.getState() === 'RUNNING') h.worker.shutdown();
  const api = startApi(h.taskQueue, {
    SAGA_FAULTS: 'processPayment:delayMs=2000',
    WORKER_SHUTDOWN_GRACE_SECONDS: '10',
  });
  let next: TestWorker | undefined;
  try {
    const baseUrl = await api.started;
    const date = '2027-07-02';
    const before = await snapshot(h, s, date);
    const order = orderBody(s, { deliveryDate: date });
    expect((await http(baseUrl, 'POST', '/orders', order)).status).toBe(202);
    const handle = h.client.workflow.getHandle(orderWorkflowId(order.orderId));
    const events = async () => (await handle.fetchHistory()).events ?? [];
    for (let i = 0; !(await events()).some((e) => e.activityTaskStartedEventAttributes); i++) {
      if (i > 100) throw new Error('processPayment never started');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    // (stderr, so only surely all there once the process has exited)
    expect(api.output()).toContain('SAGA_FAULTS is set');
    // The payment that was running when SIGTERM came finished before the process exited.
    expect((await events()).some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);

    next = await startTestWorker(h, { taskQueue: h.taskQueue });
    expect((await waitForSaga<OrderState>(handle)).status).toBe('COMPLETED');
    const after = await snapshot(h, s, date, order.orderId);
    expect(after.stock).toBe(before.stock! - 2);
    expect(after.vehicleLoad).toBe(before.vehicleLoad + 1);
    expect(await h.cols.payments.countDocuments({ orderId: order.orderId, status: 'CHARGED' })).toBe(1);
    expect(after.liveShipments).toBe(1);
  } finally {
    killIfRunning(api.child);
    await next?.stop();
  }
});

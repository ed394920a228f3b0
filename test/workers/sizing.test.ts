import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { ConfigError, loadConfig } from '../../common/config';
import { createSagaWorker } from '../../workers/create-worker';
import { DEFAULT_SIZING, sizingOptions } from '../../workers/sizing';
import { requireEnv, servedCountries } from '../support/lane';

describe('worker sizing', () => {
  test('unset variables give the measured defaults', () => {
    const c = loadConfig({});
    expect(c.WORKER_WORKFLOW_TASK_SLOTS).toBeUndefined();
    const o = sizingOptions({});
    expect(o.maxConcurrentWorkflowTaskExecutions).toBe(DEFAULT_SIZING.workflowTaskSlots);
    expect(o.maxConcurrentActivityTaskExecutions).toBe(DEFAULT_SIZING.activitySlots);
    expect(o.maxConcurrentLocalActivityExecutions).toBe(DEFAULT_SIZING.localActivitySlots);
    expect(o.maxCachedWorkflows).toBe(DEFAULT_SIZING.cachedWorkflows);
    expect(o.workflowTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 10 });
    expect(o.activityTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 10 });
  });

  test('each variable sets its worker option', () => {
    const c = loadConfig({
      WORKER_WORKFLOW_TASK_SLOTS: '12',
      WORKER_ACTIVITY_SLOTS: '30',
      WORKER_LOCAL_ACTIVITY_SLOTS: '7',
      WORKER_POLLERS: '3',
      WORKER_CACHED_WORKFLOWS: '250',
    });
    expect(
      sizingOptions({
        workflowTaskSlots: c.WORKER_WORKFLOW_TASK_SLOTS,
        activitySlots: c.WORKER_ACTIVITY_SLOTS,
        localActivitySlots: c.WORKER_LOCAL_ACTIVITY_SLOTS,
        pollers: c.WORKER_POLLERS,
        cachedWorkflows: c.WORKER_CACHED_WORKFLOWS,
      }),
    ).toEqual({
      maxConcurrentWorkflowTaskExecutions: 12,
      maxConcurrentActivityTaskExecutions: 30,
      maxConcurrentLocalActivityExecutions: 7,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 3 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 3 },
      maxCachedWorkflows: 250,
    });
  });

  test('pollers stay within what the SDK accepts', () => {
    // at least 2 workflow pollers while caching (one is for the sticky queue); never more pollers than slots
    expect(sizingOptions({ pollers: 1, cachedWorkflows: 100 }).workflowTaskPollerBehavior).toEqual({
      type: 'simple-maximum',
      maximum: 2,
    });
    expect(sizingOptions({ pollers: 1, cachedWorkflows: 0 }).workflowTaskPollerBehavior).toEqual({
      type: 'simple-maximum',
      maximum: 1,
    });
    const o = sizingOptions({ pollers: 50, workflowTaskSlots: 4, activitySlots: 6 });
    expect(o.workflowTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 4 });
    expect(o.activityTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 6 });
  });

  test.each([
    ['WORKER_WORKFLOW_TASK_SLOTS', '1'],
    ['WORKER_WORKFLOW_TASK_SLOTS', 'many'],
    ['WORKER_ACTIVITY_SLOTS', '0'],
    ['WORKER_LOCAL_ACTIVITY_SLOTS', '2.5'],
    ['WORKER_POLLERS', '-1'],
    ['WORKER_CACHED_WORKFLOWS', '1000000'],
  ])('%s=%s is refused with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: must be a whole number`));
  });

  test('the worker process refuses a bad sizing at start: exit 1, the variable named, no stack trace', () => {
    const root = path.resolve(__dirname, '..', '..');
    const result = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), ['bootstrap/worker-main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH, WORKER_POLLERS: 'lots' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Invalid configuration: .*WORKER_POLLERS\b/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

test('createSagaWorker hands the sizing to the SDK (a real worker against the test Temporal server)', async () => {
  const address = requireEnv('TEMPORAL_ADDRESS');
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const mongo = new MongoClient(requireEnv('MONGODB_URI'));
  const workers: Worker[] = [];
  try {
    const create = async (sizing?: Parameters<typeof createSagaWorker>[0]['sizing']) => {
      const worker = await createSagaWorker({
        connection,
        namespace: 'default',
        taskQueue: `sizing-${Date.now()}`,
        db: mongo.db('sizing_test'),
        servedCountries,
        temporal: new Client({ connection: clientConnection }),
        workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') },
        sizing,
      });
      workers.push(worker);
      return worker;
    };
    const sized = await create({ workflowTaskSlots: 12, activitySlots: 30, pollers: 3, cachedWorkflows: 250 });
    expect(sized.options.tuner.workflowTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 12 });
    expect(sized.options.tuner.activityTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 30 });
    expect(sized.options.tuner.localActivityTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 100 });
    expect(sized.options.maxCachedWorkflows).toBe(250);
    expect(sized.options.workflowTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 3 });
    const byDefault = await create();
    expect(byDefault.options.tuner.workflowTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 40 });
    expect(byDefault.options.activityTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 10 });
  } finally {
    // A worker holds its connection until it has run and shut down.
    for (const worker of workers) {
      const running = worker.run();
      worker.shutdown();
      await running;
    }
    await connection.close();
    await clientConnection.close();
    await mongo.close();
  }
});

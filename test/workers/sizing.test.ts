import { spawnSync } from 'node:child_process';
import { dataConverterFromEnv, payloadKeyEnv } from '../../codec/data-converter';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { ConfigError, loadConfig } from '../../common/config';
import { loadServiceConfig } from '../../bootstrap/config';
import { workerOptionsFromConfig } from '../../bootstrap/worker-options';
import { createSagaWorker } from '../../workers/create-worker';
import { sizingOptions } from '../../workers/sizing';
import { requireEnv, servedCountries } from '../support/lane';

/** The worker options the environment `env` gives, the way the worker process reads them. */
const optionsFromEnv = (env: Record<string, string>) =>
  sizingOptions(workerOptionsFromConfig(loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off', ...env })).sizing);

describe('worker sizing', () => {
  test('unset variables give the documented defaults: 40 / 100 / 100 slots, 10 pollers per kind, cache left to the SDK', () => {
    const c = loadConfig({ PAYLOAD_ENCRYPTION: 'off' });
    expect(c.WORKER_WORKFLOW_TASK_SLOTS).toBeUndefined();
    // The values README's configuration table and docs/performance.md state (the SDK's own defaults).
    const o = optionsFromEnv({});
    expect(o.maxConcurrentWorkflowTaskExecutions).toBe(40);
    expect(o.maxConcurrentActivityTaskExecutions).toBe(100);
    expect(o.maxConcurrentLocalActivityExecutions).toBe(100);
    expect(o.maxCachedWorkflows).toBeUndefined();
    expect(o.workflowTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 10 });
    expect(o.activityTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 10 });
    expect(Object.keys(o).sort()).toEqual([
      'activityTaskPollerBehavior',
      'maxConcurrentActivityTaskExecutions',
      'maxConcurrentLocalActivityExecutions',
      'maxConcurrentWorkflowTaskExecutions',
      'workflowTaskPollerBehavior',
    ]);
  });

  test('each variable sets its worker option', () => {
    expect(
      optionsFromEnv({
        WORKER_WORKFLOW_TASK_SLOTS: '12',
        WORKER_ACTIVITY_SLOTS: '30',
        WORKER_LOCAL_ACTIVITY_SLOTS: '7',
        WORKER_POLLERS: '3',
        WORKER_CACHED_WORKFLOWS: '250',
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

test('createSagaWorker hands the sizing to the SDK, and its defaults are what the SDK compiles by itself (real workers against the test Temporal server)', async () => {
  const address = requireEnv('TEMPORAL_ADDRESS');
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const mongo = new MongoClient(requireEnv('MONGODB_URI'));
  const workers: Worker[] = [];
  try {
    const workflowBundle = { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') };
    /** The saga worker as the worker process builds it from the environment `env`. */
    const create = async (env: Record<string, string> = {}) => {
      const worker = await createSagaWorker({
        ...workerOptionsFromConfig(loadServiceConfig({ ...payloadKeyEnv(), ...env })),
        connection,
        namespace: 'default',
        taskQueue: `sizing-${Date.now()}`,
        db: mongo.db('sizing_test'),
        servedCountries,
        temporal: new Client({ connection: clientConnection, dataConverter: dataConverterFromEnv() }),
        workflowBundle,
      });
      workers.push(worker);
      return worker;
    };
    const sized = await create({
      WORKER_WORKFLOW_TASK_SLOTS: '12',
      WORKER_ACTIVITY_SLOTS: '30',
      WORKER_POLLERS: '3',
      WORKER_CACHED_WORKFLOWS: '250',
    });
    expect(sized.options.tuner.workflowTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 12 });
    expect(sized.options.tuner.activityTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 30 });
    expect(sized.options.tuner.localActivityTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 100 });
    expect(sized.options.maxCachedWorkflows).toBe(250);
    expect(sized.options.workflowTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 3 });
    expect(sized.options.activityTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 3 });
    const byDefault = await create();
    expect(byDefault.options.tuner.workflowTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 40 });
    expect(byDefault.options.tuner.activityTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 100 });
    expect(byDefault.options.tuner.localActivityTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 100 });
    expect(byDefault.options.workflowTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 10 });
    expect(byDefault.options.activityTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 10 });

    // "The SDK's own values, written out": a worker given no sizing at all compiles to the same.
    const sdkOwn = await Worker.create({
      connection,
      taskQueue: `sizing-sdk-${Date.now()}`,
      workflowBundle,
      activities: {},
    });
    workers.push(sdkOwn);
    expect(byDefault.options.tuner).toEqual(sdkOwn.options.tuner);
    expect(byDefault.options.workflowTaskPollerBehavior).toEqual(sdkOwn.options.workflowTaskPollerBehavior);
    expect(byDefault.options.activityTaskPollerBehavior).toEqual(sdkOwn.options.activityTaskPollerBehavior);
    expect(byDefault.options.maxCachedWorkflows).toBe(sdkOwn.options.maxCachedWorkflows);
    expect(byDefault.options.maxCachedWorkflows).toBeGreaterThan(0);
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

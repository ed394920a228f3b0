import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../common/config';
import { DEFAULT_SIZING, sizingOptions } from '../../workers/sizing';

describe('worker sizing', () => {
  test('unset variables give the measured defaults', () => {
    const c = loadConfig({});
    expect(c.WORKER_WORKFLOW_TASK_SLOTS).toBeUndefined();
    const o = sizingOptions({});
    expect(o.maxConcurrentWorkflowTaskExecutions).toBe(DEFAULT_SIZING.workflowTaskSlots);
    expect(o.maxConcurrentActivityTaskExecutions).toBe(DEFAULT_SIZING.activitySlots);
    expect(o.maxConcurrentLocalActivityExecutions).toBe(DEFAULT_SIZING.localActivitySlots);
    expect(o.maxCachedWorkflows).toBe(DEFAULT_SIZING.cachedWorkflows);
    expect(o.maxConcurrentWorkflowTaskPolls).toBe(10);
    expect(o.maxConcurrentActivityTaskPolls).toBe(10);
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
      maxConcurrentWorkflowTaskPolls: 3,
      maxConcurrentActivityTaskPolls: 3,
      maxCachedWorkflows: 250,
    });
  });

  test('pollers stay within what the SDK accepts', () => {
    // at least 2 workflow pollers while caching (one is for the sticky queue); never more pollers than slots
    expect(sizingOptions({ pollers: 1, cachedWorkflows: 100 }).maxConcurrentWorkflowTaskPolls).toBe(2);
    expect(sizingOptions({ pollers: 1, cachedWorkflows: 0 }).maxConcurrentWorkflowTaskPolls).toBe(1);
    const o = sizingOptions({ pollers: 50, workflowTaskSlots: 4, activitySlots: 6 });
    expect(o.maxConcurrentWorkflowTaskPolls).toBe(4);
    expect(o.maxConcurrentActivityTaskPolls).toBe(6);
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
    const result = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), ['workers/main.ts'], {
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

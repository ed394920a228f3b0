/**
 * docs/cli.md is the single source of the operator recipes: this test reads every `sh` block from it (each named by
 * a `<!-- recipe: name -->` comment), replaces its `<placeholders>`, runs it with bash and the real `temporal`
 * binary against real sagas, and checks what it prints. A recipe changed in the docs is tested as changed; a
 * recipe added without a check here fails the last test.
 *
 * Each test stands alone (`-t '<name>'`): the sagas several of them read are made in `beforeAll` (and waited for
 * in the eventually consistent visibility store), each test declares the recipes it checks and fails unless it
 * ran them, and the last test compares those declarations, not what happened to run, with docs/cli.md.
 */
import { dataConverterFromEnv } from '../../codec/data-converter';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { SagaStatusKey } from '../../common/search-attributes';
import { repoRoot, tools } from '../../scripts/lib/servers';
import { addVehicle, orderBody, seed, type Seeded } from '../support/fixtures';
import { http, requireEnv, startHarness, waitForSaga, type Harness } from '../support/harness';
import { Gate, type ActivityName } from '../support/saga-hooks';
import { sagaResult } from '../../common/saga-result';

interface Recipe {
  name: string;
  command: string;
}

/** The named `sh` blocks of docs/cli.md, line continuations joined. */
function readRecipes(): Map<string, Recipe> {
  const text = fs.readFileSync(path.join(repoRoot, 'docs', 'cli.md'), 'utf8');
  const recipes = new Map<string, Recipe>();
  const block = /<!-- recipe: ([\w-]+) -->\s*```sh\n([\s\S]*?)```/g;
  for (const match of text.matchAll(block)) {
    const name = match[1]!;
    if (recipes.has(name)) throw new Error(`docs/cli.md: recipe ${name} appears twice`);
    const command = match[2]!.replace(/\\\n\s*/g, ' ').trim();
    recipes.set(name, { name, command });
  }
  const shBlocks = text.match(/```sh\n/g)?.length ?? 0;
  if (shBlocks !== recipes.size) {
    throw new Error(`docs/cli.md: ${shBlocks - recipes.size} sh block(s) without a <!-- recipe: name --> comment`);
  }
  return recipes;
}

const recipes = readRecipes();
/** The recipes the current test ran. */
const ran = new Set<string>();
/** The recipes the tests below declare they check, collected when they are defined (whichever of them run). */
const covered = new Set<string>();

/** A test that checks the recipes `names`; it fails unless it ran each of them (and no other). */
function recipeTest(names: string[], title: string, fn: () => Promise<void>): void {
  for (const name of names) covered.add(name);
  test(title, async () => {
    ran.clear();
    await fn();
    expect([...ran].sort()).toEqual([...new Set(names)].sort());
  });
}
const cli = process.env.TEMPORAL_CLI ?? tools.temporal;
let workDir: string;

/**
 * Runs a recipe as a user would paste it into bash, with the placeholders replaced. Asynchronously: a query is
 * answered by the worker running in this very process.
 */
async function run(name: string, values: Record<string, string> = {}): Promise<string> {
  const recipe = recipes.get(name);
  if (!recipe) throw new Error(`docs/cli.md has no recipe ${name}`);
  const command = recipe.command
    .replace(/<([\w-]+)>/g, (placeholder, key: string) => {
      const value = values[key];
      if (value === undefined) throw new Error(`recipe ${name}: no value for ${placeholder}`);
      return value;
    })
    // the recipes name npm start's API; here the codec endpoint is the test API's
    .replaceAll('http://localhost:3000/codec', `${h.baseUrl}/codec`);
  // The user's own CLI settings must not leak in: only the server the tests run against.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')),
  );
  const child = spawn('bash', ['-euo', 'pipefail', '-c', command], {
    cwd: workDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
    env: {
      ...env,
      HOME: workDir, // no ~/.config/temporalio profile
      PATH: `${path.dirname(cli)}${path.delimiter}${process.env.PATH ?? ''}`,
      TEMPORAL_ADDRESS: requireEnv('TEMPORAL_ADDRESS'),
      TEMPORAL_NAMESPACE: 'default',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  ran.add(name);
  if (code !== 0) throw new Error(`recipe ${name} (${command}) exited ${code}:\n${stderr}${stdout}`);
  return stdout;
}

let h: Harness;
let customer: Seeded;
let compensated: string;
let completed: string;
let otherCustomers: string;
const gates: Gate[] = [];

async function startOrder(baseUrl: string, body: ReturnType<typeof orderBody>): Promise<WorkflowHandle> {
  const res = await http(baseUrl, 'POST', '/orders', body);
  expect(res.status).toBe(202);
  return h.client.workflow.getHandle(orderWorkflowId(body.orderId));
}

/** Until the visibility store (eventually consistent) lists each saga with the SagaStatus given. */
async function untilListed(statuses: Record<string, SagaStatus>): Promise<void> {
  const ids = Object.keys(statuses);
  const query = `WorkflowId IN (${ids.map((id) => `'${id}'`).join(', ')})`;
  const seen = new Map<string, unknown>();
  for (let i = 0; i < 120; i++) {
    seen.clear();
    for await (const w of h.client.workflow.list({ query })) {
      seen.set(w.workflowId, w.typedSearchAttributes.get(SagaStatusKey));
    }
    if (ids.every((id) => seen.get(id) === statuses[id])) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`visibility never listed ${JSON.stringify(statuses)}; listed: ${JSON.stringify([...seen])}`);
}

/** A saga held at `activity` (by the harness's hooks) until the returned gate is released. */
async function heldSaga(activity: ActivityName, deliveryDate: string, token?: string) {
  const body = orderBody(await seed(h), { deliveryDate, ...(token === undefined ? {} : { token }) });
  const gate = new Gate();
  gates.push(gate);
  h.hooks.add({ activity, workflowId: orderWorkflowId(body.orderId), gate });
  const handle = await startOrder(h.baseUrl, body);
  await gate.entered;
  return { body, gate, handle };
}

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-recipes-'));
  h = await startHarness('cli');
  // The recipes read npm start's development key from .data/dev-api-key; here it is a key with the reader role alone,
  // the least the codec endpoint accepts.
  fs.mkdirSync(path.join(workDir, '.data'));
  fs.writeFileSync(path.join(workDir, '.data', 'dev-api-key'), `${h.keys.reader}\n`, { mode: 0o600 });
  await addVehicle(h, 10);
  customer = await seed(h);
  const declined = orderBody(customer, { token: 'tok_declined' });
  const ok = orderBody(customer);
  const other = orderBody(await seed(h));
  const handles = await Promise.all([declined, ok, other].map((body) => startOrder(h.baseUrl, body)));
  await Promise.all(handles.map((handle) => sagaResult(handle)));
  [compensated, completed, otherCustomers] = handles.map((handle) => handle.workflowId) as [string, string, string];
  // The list recipes read the visibility store: every test that lists them must find them there.
  await untilListed({
    [compensated]: SagaStatus.COMPENSATED,
    [completed]: SagaStatus.COMPLETED,
    [otherCustomers]: SagaStatus.COMPLETED,
  });
});

afterAll(async () => {
  for (const gate of gates) gate.release();
  await h?.stop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

const orderIdOf = (workflowId: string) => workflowId.replace(/^order-/, '');

describe('the CLI recipes of docs/cli.md, run with the real temporal binary', () => {
  recipeTest(
    ['list-by-status'],
    'list-by-status lists compensated sagas, as Failed runs, and no completed one',
    async () => {
      const out = await run('list-by-status');
      expect(out).toContain(compensated);
      expect(out).not.toContain(completed);
      // Compensated is not completed: the run's Status column says Failed.
      expect(out.split('\n').find((line) => line.includes(compensated))).toMatch(/\bFailed\b/);
    },
  );

  recipeTest(['list-by-customer'], "list-by-customer lists that customer's sagas only", async () => {
    const out = await run('list-by-customer', { 'customer-id': customer.customerId });
    expect(out).toContain(compensated);
    expect(out).toContain(completed);
    expect(out).not.toContain(otherCustomers);
  });

  recipeTest(['describe'], 'describe shows the run, its type, summary and SagaStatus', async () => {
    const out = await run('describe', { 'order-id': orderIdOf(compensated) });
    expect(out).toContain(compensated);
    expect(out).toContain('orderSaga');
    expect(out).toContain(`Order ${orderIdOf(compensated)} for customer ${customer.customerId}`);
    expect(out).toContain('COMPENSATED');
  });

  recipeTest(['query-state'], 'query-state prints the saga state as JSON, step by step', async () => {
    const out = await run('query-state', { 'order-id': orderIdOf(compensated) });
    const { queryResult } = JSON.parse(out) as { queryResult: [OrderState] };
    const [state] = queryResult;
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.failure).toMatchObject({ step: 'processPayment', type: 'PaymentDeclined' });
    expect(state.steps.map((s) => s.name)).toEqual([
      'priceOrder',
      'reserveCredit',
      'reserveInventory',
      'processPayment',
    ]);
  });

  recipeTest(['show-history'], 'show-history prints the events with their ids', async () => {
    const out = await run('show-history', { 'order-id': orderIdOf(compensated) });
    expect(out).toMatch(/^\s*1\s+\S+\s+WorkflowExecutionStarted/m);
    expect(out).toMatch(/ActivityTaskScheduled/);
    // A compensated saga's run ends failed (SagaCompensated), not completed.
    expect(out).toMatch(/WorkflowExecutionFailed/);
    expect(out).not.toMatch(/WorkflowExecutionCompleted/);
  });

  recipeTest(
    ['export-history'],
    'export-history writes JSON that the replayer accepts with the current workflow code',
    async () => {
      await run('export-history', { 'order-id': orderIdOf(compensated) });
      const file = path.join(workDir, `${compensated}.history.json`);
      const history = JSON.parse(fs.readFileSync(file, 'utf8')) as { events: { eventType: string }[] };
      expect(history.events[0]?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
      await expect(
        Worker.runReplayHistory(
          { workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') }, dataConverter: dataConverterFromEnv() },
          history,
          compensated,
        ),
      ).resolves.toBeUndefined();
    },
  );

  recipeTest(['cancel'], 'cancel makes a running saga compensate what it started and close as cancelled', async () => {
    const { body, gate, handle } = await heldSaga('processPayment', '2027-04-01');
    await run('cancel', { 'order-id': body.orderId });
    const state = await waitForSaga<OrderState>(handle);
    gate.release();
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.cancelled).toBe(true);
    expect(state.failure).toMatchObject({ step: 'processPayment', type: 'Cancelled' });
    expect((await handle.describe()).status.name).toBe('CANCELLED');
  });

  recipeTest(
    ['list-waiting-for-operator', 'retry-compensation'],
    'list-waiting-for-operator finds a FAILED saga, and retry-compensation lets it finish',
    async () => {
      const body = orderBody(await seed(h), { token: 'tok_declined', deliveryDate: '2027-04-02' });
      const workflowId = orderWorkflowId(body.orderId);
      h.hooks.add({ activity: 'releaseInventory', workflowId, fatal: 'always', firstCalls: 1 });
      const handle = await startOrder(h.baseUrl, body);
      const failed = await waitForSaga<OrderState>(handle, { statuses: [SagaStatus.FAILED] });
      expect(failed.compensationFailure).toMatchObject({ compensation: 'releaseInventory' });

      // The visibility store is eventually consistent: give the list a moment to see the new status.
      let out = '';
      for (let i = 0; i < 20 && !out.includes(workflowId); i++) {
        out = await run('list-waiting-for-operator');
        if (!out.includes(workflowId)) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(out).toContain(workflowId);
      expect(out).not.toContain(compensated);

      await run('retry-compensation', { 'order-id': body.orderId });
      const state = await waitForSaga<OrderState>(handle);
      expect(state.status).toBe(SagaStatus.COMPENSATED);
      expect(state.compensationFailure).toBeNull();
    },
  );

  recipeTest(
    ['reset-last-workflow-task'],
    'reset-last-workflow-task starts a new run of a stuck saga, which then completes',
    async () => {
      const { body, gate, handle } = await heldSaga('reserveVehicle', '2027-04-03');
      const firstRunId = (await handle.describe()).runId;
      const out = await run('reset-last-workflow-task', { 'order-id': body.orderId });
      const newRunId = (await handle.describe()).runId;
      expect(newRunId).not.toBe(firstRunId);
      expect(out).toMatch(new RegExp(`Resetting workflow ${handle.workflowId} to event ID \\d+`));
      gate.release();
      const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(handle.workflowId));
      expect(state.status).toBe(SagaStatus.COMPLETED);
      const charges = await h.cols.payments.countDocuments({ _id: { $regex: `^${handle.workflowId}:` } });
      expect(charges).toBe(1); // the repeated step did not charge twice
    },
  );

  recipeTest(
    ['show-history', 'reset-to-event'],
    'reset-to-event resets to a WorkflowTaskCompleted event picked from show-history',
    async () => {
      // A declined payment held in its last compensation: several workflow tasks completed to pick from. (Held in a
      // step instead, there would be one: the local steps run inside a single workflow task, see STEP_CALLS in
      // workflows/order-saga.ts.)
      const { body, gate, handle } = await heldSaga('releaseCredit', '2027-04-04', 'tok_declined');
      const firstRunId = (await handle.describe()).runId;
      const shown = await run('show-history', { 'order-id': body.orderId });
      const taskCompleted = [...shown.matchAll(/^\s*(\d+)\s+\S+\s+WorkflowTaskCompleted/gm)].map((m) => m[1]!);
      expect(taskCompleted.length).toBeGreaterThan(2);
      const out = await run('reset-to-event', { 'order-id': body.orderId, 'event-id': taskCompleted[1]! });
      expect(out).toContain(`Resetting workflow ${handle.workflowId} to event ID ${taskCompleted[1]}`);
      expect((await handle.describe()).runId).not.toBe(firstRunId);
      gate.release();
      const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(handle.workflowId));
      expect(state.status).toBe(SagaStatus.COMPENSATED);
      expect(state.failure?.type).toBe('PaymentDeclined');
    },
  );

  test('every recipe in docs/cli.md is checked by a test above', () => {
    expect([...covered].sort()).toEqual([...recipes.keys()].sort());
  });
});

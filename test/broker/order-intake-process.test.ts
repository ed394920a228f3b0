import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { freePort, repoRoot } from '../../scripts/lib/servers';
import { pollUntil } from '../../scripts/lib/wait';
import { killIfRunning, processEnv, startProcess, tsx } from '../api/support';
import { addVehicle, orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { requireEnv, startHarness, waitForSaga, type Harness } from '../support/harness';

/**
 * The order intake's entry point (bootstrap/order-intake-main.ts) as `npm start` runs it, fed by `npm run
 * publish-order` (scripts/publish-order.ts) through the real exchange `saga.intake`. The only test that binds a queue
 * to it (test/broker/order-intake.test.ts uses exchanges of its own).
 */
let h: Harness;
let s: Seeded;
beforeAll(async () => {
  h = await startHarness('intake_process');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 100_000, stock: 10_000 });
});
afterAll(async () => h?.stop());

test.each([
  ['ORDER_INTAKE_PREFETCH', '0'],
  ['ORDER_INTAKE_QUEUE', 'amq.orders'],
  ['ORDER_INTAKE_METRICS_ADDRESS', 'localhost'],
  ['AMQP_URL', 'http://rabbit:5672'],
])('%s=%s stops the order intake at start with exit code 1 and a message naming the variable', (name, value) => {
  const result = spawnSync(tsx, ['bootstrap/order-intake-main.ts'], {
    cwd: repoRoot,
    env: processEnv(h, { AMQP_URL: requireEnv('AMQP_URL'), [name]: value }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(new RegExp(`Invalid configuration: .*${name}\\b`));
});

test('the intake process starts a saga from a message npm run publish-order sent, counts it in /metrics, and exits 0 on SIGTERM', async () => {
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const queue = `test.orders.placed.${unique('process')}`;
  const env = processEnv(h, {
    AMQP_URL: requireEnv('AMQP_URL'),
    ORDER_INTAKE_QUEUE: queue,
    ORDER_INTAKE_METRICS_ADDRESS: metricsAddress,
    LOG_FORMAT: 'json',
  });
  const intake = startProcess('bootstrap/order-intake-main.ts', /Order intake starting order sagas/, env);
  try {
    await intake.started;
    const token = `tok_${unique('secret')}`;
    const body = orderBody(s, { token });
    const file = path.join(os.tmpdir(), `${unique('order')}.json`);
    fs.writeFileSync(file, JSON.stringify(body));
    const published = spawnSync(tsx, ['scripts/publish-order.ts', '--file', file], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, AMQP_URL: requireEnv('AMQP_URL') },
      encoding: 'utf8',
      timeout: 60_000,
    });
    fs.rmSync(file, { force: true });
    expect(published.stderr).toBe('');
    expect(published.status).toBe(0);
    expect(published.stdout).toContain(`published OrderPlaced for order ${body.orderId}`);

    // The intake starts the saga once it has consumed the message: wait for the workflow to exist, then for its end.
    const handle = h.client.workflow.getHandle(orderWorkflowId(body.orderId));
    await pollUntil(
      'the intake started the saga',
      () =>
        handle.describe().then(
          () => true,
          (err: unknown) => {
            if (err instanceof WorkflowNotFoundError) return false;
            throw err;
          },
        ),
      (started) => started,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const state = await waitForSaga<OrderState>(handle);
    expect(state.status).toBe(SagaStatus.COMPLETED);
    const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    expect(metrics).toMatch(/^order_intake_messages_total\{outcome="started"\} 1$/m);
    expect(metrics).toMatch(/^order_intake_dead_lettered_total\{reason="invalid-order"\} 0$/m);

    intake.child.kill('SIGTERM');
    expect(await intake.exited).toBe(0);
    const lines = intake.stdout();
    expect(lines).toContain(`"sagaId":"${body.orderId}"`);
    expect(lines).toContain('Order intake stopped');
    expect(lines).not.toContain(token);
    expect(lines).not.toContain(body.shippingAddress.line1);
  } finally {
    killIfRunning(intake.child);
  }
});

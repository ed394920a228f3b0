import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { idempotencyKeys } from '../../api/idempotency';
import { repoRoot } from '../../scripts/lib/servers';
import { addVehicle, orderBody, seed, snapshot, unique, type Seeded } from '../support/fixtures';
import { authHeaders, startHarness, waitForSaga, type Harness } from '../support/harness';
import { startTestWorker, type TestWorker } from '../support/lane';
import { killIfRunning, processEnv, readEvents, startProcess, tsx } from './support';

/** The real entry points as processes: configuration errors, and SIGTERM for the API and the worker. */

let h: Harness;
let s: Seeded;
beforeAll(async () => {
  h = await startHarness('process');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 100_000, stock: 10_000 });
});
afterAll(async () => h?.stop());

const childEnv = (extra: Record<string, string> = {}) => processEnv(h, extra);

describe('configuration', () => {
  test.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['BODY_LIMIT', '100kb'],
    ['BODY_LIMIT', '10'],
    ['MONGODB_URI', 'http://localhost:27017'],
    ['TEMPORAL_ADDRESS', 'localhost'],
    ['MONGODB_DB', 'a/b'],
    ['SERVED_COUNTRIES', 'IE,Ireland'],
    ['API_SHUTDOWN_GRACE_SECONDS', '-1'],
    ['API_EMBEDDED_WORKER', 'yes'],
    ['IDEMPOTENCY_KEY_RETENTION_HOURS', '0'],
    ['SAGA_FAULTS', 'releaseCredit:explode=1'],
    ['API_AUTH', 'maybe'],
    ['API_KEYS', 'ci:reader:not-a-hash'],
    ['API_KEYS', `ci:admin:${'0'.repeat(64)}`],
    ['API_JWT_JWKS_URL', 'https://idp.example/jwks.json'],
    ['API_RATE_LIMIT', '0'],
    ['API_RATE_LIMIT_WINDOW_SECONDS', 'a minute'],
    ['CODEC_SESSION_HOURS', '0'],
    ['CODEC_SESSION_HOURS', '8h'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'INFO '],
    ['LOG_FORMAT', 'text'],
  ])('%s=%s stops the API at start with exit code 1 and a message naming the variable', (name, value) => {
    const result = spawnSync(tsx, ['bootstrap/api-main.ts'], {
      cwd: repoRoot,
      env: childEnv({ [name]: value }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`Invalid configuration: .*${name}\\b`));
    expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});

describe('signals', () => {
  test('a SIGTERM sent the moment the API says it listens drains it and exits 0 (handlers are in place first)', async () => {
    // Before the fix, about half of these died of the signal's default action on a busy machine: the line was
    // written, the process preempted, the signal delivered before its handler was installed.
    const exits: unknown[] = [];
    for (let i = 0; i < 8; i++) {
      const api = startProcess('bootstrap/api-main.ts', /listening on http/, childEnv());
      await api.started;
      api.child.kill('SIGTERM');
      exits.push(await api.exited);
    }
    expect(exits).toEqual(Array(8).fill(0));
  }, 300_000); // eight API starts: 5 s each on a quiet machine, 15 s and more on a loaded one
});

describe('authentication', () => {
  test('is on by default; API_AUTH=off lets requests through without a credential and warns at start', async () => {
    for (const off of [false, true]) {
      const api = startProcess('bootstrap/api-main.ts', /listening on http:\/\/127\.0\.0\.1:(\d+)/, {
        ...childEnv(off ? { API_AUTH: 'off' } : {}),
      });
      try {
        const base = `http://127.0.0.1:${(await api.started)[1]}`;
        const res = await fetch(`${base}/customers/${unique('nobody')}`);
        expect([off, res.status]).toEqual([off, off ? 404 : 401]);
        expect(api.output().includes('WARNING: API_AUTH=off')).toBe(off);
      } finally {
        api.child.kill('SIGTERM');
        await api.exited;
      }
    }
  });
});

describe('expired Idempotency-Key records', () => {
  test('the API deletes them when it starts (and every hour after)', async () => {
    const keys = idempotencyKeys(h.db);
    const key = unique('expired');
    await keys.insertOne({
      _id: key,
      requestHash: 'h',
      orderId: unique('o'),
      response: null,
      createdAt: new Date(Date.now() - 2 * 60 * 60 * 1000),
    });
    const api = startProcess(
      'bootstrap/api-main.ts',
      /listening on http/,
      childEnv({ IDEMPOTENCY_KEY_RETENTION_HOURS: '1' }),
    );
    try {
      await api.started;
      for (let i = 0; (await keys.countDocuments({ _id: key })) > 0; i++) {
        if (i > 50) throw new Error(`the expired record is still there: ${api.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
      expect(api.output()).toMatch(/deleted [1-9]\d* expired Idempotency-Key records/);
    } finally {
      killIfRunning(api.child);
    }
  });
});

describe('SIGTERM', () => {
  test('the API finishes the request in flight, ends event streams, closes its clients and exits 0', async () => {
    const api = startProcess('bootstrap/api-main.ts', /listening on http:\/\/127\.0\.0\.1:(\d+)/, childEnv());
    try {
      const port = Number((await api.started)[1]);
      const base = `http://127.0.0.1:${port}`;
      // A saga held at its payment, followed by an event stream
      const order = orderBody(s, { deliveryDate: '2027-06-01' });
      // (let go after 6 s at the latest, well inside the payment's 10 s start-to-close timeout)
      h.hooks.hold(orderWorkflowId(order.orderId), 'processPayment', { maxHoldMs: 6_000 });
      const started = await fetch(`${base}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders() },
        body: JSON.stringify(order),
      });
      expect(started.status).toBe(202);
      let sawFirst!: () => void;
      const firstEvent = new Promise<void>((resolve) => (sawFirst = resolve));
      const stream = readEvents(`${base}/orders/${order.orderId}/events`, { onEvent: () => sawFirst() });
      await firstEvent;

      // A request in flight: its body is half sent when SIGTERM arrives
      const customerId = unique('cust');
      const body = JSON.stringify({ id: customerId, name: 'Late Customer', creditLimit: 5 });
      const answer = new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/customers',
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              ...authHeaders(),
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, 10));
        setTimeout(() => req.end(body.slice(10)), 700);
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      api.child.kill('SIGTERM');

      expect(await answer).toBe(201);
      const { events } = await stream;
      expect(events.length).toBeGreaterThanOrEqual(1);
      expect(await api.exited).toBe(0);
      expect(api.output()).toContain('SIGTERM: finishing in-flight requests');
      expect(api.output()).toContain('API stopped');
      expect(await h.cols.customers.countDocuments({ _id: customerId })).toBe(1);
      await expect(fetch(`${base}/health`)).rejects.toThrow();

      // The saga did not notice: it completes once its payment is let go
      h.hooks.release(orderWorkflowId(order.orderId));
      const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(order.orderId)));
      expect(state.status).toBe('COMPLETED');
    } finally {
      killIfRunning(api.child);
      h.hooks.releaseAll();
    }
  });

  test('the worker stops polling, lets running work finish and exits 0; its sagas complete on the next worker', async () => {
    if (h.worker.getState() === 'RUNNING') h.worker.shutdown();
    const proc = startProcess(
      'bootstrap/worker-main.ts',
      /Worker polling/,
      childEnv({ WORKER_SHUTDOWN_GRACE_SECONDS: '5' }),
    );
    let next: TestWorker | undefined;
    try {
      await proc.started;
      const date = '2027-06-02';
      const before = await snapshot(h, s, date);
      const orders = Array.from({ length: 3 }, () => orderBody(s, { deliveryDate: date }));
      for (const order of orders) {
        const res = await fetch(`${h.baseUrl}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...authHeaders() },
          body: JSON.stringify(order),
        });
        expect(res.status).toBe(202);
      }
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(proc.output()).toContain('SIGTERM: no new tasks');
      expect(proc.output()).toContain('Worker stopped');

      next = await startTestWorker(h, { taskQueue: h.taskQueue });
      for (const order of orders) {
        const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(order.orderId)));
        expect(state.status).toBe('COMPLETED');
      }
      // Each order applied exactly once at every participant
      const after = await snapshot(h, s, date);
      expect(after.stock).toBe(before.stock! - 3 * 2);
      expect(after.vehicleLoad).toBe(before.vehicleLoad + 3);
    } finally {
      killIfRunning(proc.child);
      await next?.stop();
    }
  });
});

describe('payload keys at start (docs/security.md)', () => {
  const run = (entry: string, env: NodeJS.ProcessEnv) =>
    spawnSync(tsx, [entry], { cwd: repoRoot, env, encoding: 'utf8', timeout: 30_000 });
  const withoutKeys = () => {
    const env = childEnv();
    delete env.PAYLOAD_KEYS;
    delete env.PAYLOAD_KEY_CURRENT;
    delete env.PAYLOAD_ENCRYPTION;
    return env;
  };

  test.each(['bootstrap/api-main.ts', 'bootstrap/worker-main.ts'])(
    '%s refuses to start without PAYLOAD_KEYS unless PAYLOAD_ENCRYPTION=off: exit 1, the variable named',
    (entry) => {
      const result = run(entry, withoutKeys());
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/Invalid configuration: PAYLOAD_KEYS: required .*PAYLOAD_ENCRYPTION=off/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    },
  );

  test.each([
    ['PAYLOAD_KEYS', 'k1:c2hvcnQ='],
    ['PAYLOAD_KEYS', 'no-key-id'],
    ['PAYLOAD_KEY_CURRENT', 'not-in-the-ring'],
    ['PAYLOAD_ENCRYPTION', 'maybe'],
    ['CODEC_CORS_ORIGIN', 'localhost:8233/ui'],
  ])('%s=%s stops the API at start, naming the variable and never showing a key', (name, value) => {
    const result = run('bootstrap/api-main.ts', childEnv({ [name]: value }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`Invalid configuration: .*${name}\\b`));
    expect(result.stderr).not.toContain(process.env.PAYLOAD_KEYS!.split(':')[1]!);
  });

  test.each([
    ['bootstrap/api-main.ts', /listening on http/],
    ['bootstrap/worker-main.ts', /Worker polling/],
  ])('%s starts with PAYLOAD_ENCRYPTION=off and no keys, with a warning', async (entry, ready) => {
    const proc = startProcess(entry, ready, { ...withoutKeys(), PAYLOAD_ENCRYPTION: 'off' });
    try {
      await proc.started;
      expect(proc.output()).toMatch(/PAYLOAD_ENCRYPTION=off: payloads are stored in Temporal in plain text/);
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      killIfRunning(proc.child);
    }
  });
});

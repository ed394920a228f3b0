/**
 * Secrets stay secret (docs/security.md), and the logs are structured (docs/operations.md, "Logs"): the real API and
 * worker processes, at LOG_LEVEL=debug, run sagas whose payment token, street, city and postal code are marker
 * values (completed, declined and compensated, with injected transient faults so that failures and retries are
 * logged), are sent requests that fail (a bad body carrying the markers, a wrong key), and are stopped; then
 * everything both processes wrote (stdout and stderr) is searched for the API key, the payload key and the markers.
 * None may be there, and no error body may carry a marker. The logs do name the sagas' ids (so the search is over
 * logs that talk about these sagas): every line is a JSON object; the API's request lines carry their request id,
 * the worker's lines about a saga its workflow id, business id and type, an activity's its step and attempt; and
 * each failure is logged once.
 */
import { randomBytes } from 'node:crypto';
import { BusinessFailure } from '../../common/failures';
import { payloadKeyEnv } from '../../codec/data-converter';
import { ORDER_SAGA, orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { addVehicle, orderBody, seed, type Seeded } from '../support/fixtures';
import { authHeaders, http, startHarness, waitForSaga, type Harness } from '../support/harness';
import { testApiKey } from '../support/lane';
import { killIfRunning, processEnv, startProcess } from '../api/support';

let h: Harness;
let s: Seeded;
beforeAll(async () => {
  h = await startHarness('secrets');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 100_000, stock: 10_000 });
  // The worker process below serves the harness's task queue alone.
  if (h.worker.getState() === 'RUNNING') h.worker.shutdown();
});
afterAll(async () => h?.stop());

const marker = (label: string) => `${label}${randomBytes(6).toString('hex')}`;

/** One line of a process's output, as pino writes it. */
interface LogLine {
  level: number;
  time: string;
  name: string;
  msg: string;
  [field: string]: unknown;
}

/** Every line of the output, parsed; a line that is not a pino JSON object fails the test, naming it. */
function parseLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
      expect({ line, parsed }).toEqual({
        line,
        parsed: expect.objectContaining({
          level: expect.any(Number),
          time: expect.any(String),
          name: expect.any(String),
          msg: expect.any(String),
        }),
      });
      return parsed as LogLine;
    });
}

test('the logs of the API and the worker hold no API key, no payload key and no personal data', async () => {
  const markers = {
    token: marker('tok_marker_'),
    street: `${marker('')} Markerstreet`,
    city: marker('Markercity'),
    postalCode: marker('PC'),
  };
  const env = processEnv(h, {
    // Transient failures of a step and of a compensation: logged, retried, recovered.
    SAGA_FAULTS: 'processPayment:fail=1,releaseCredit:fail=1',
    // Each activity's start and completion too: more lines to search, and the retries' lines.
    LOG_LEVEL: 'debug',
  });
  const worker = startProcess('bootstrap/worker-main.ts', /Worker polling/, env);
  const api = startProcess('bootstrap/api-main.ts', /listening on http:\/\/127\.0\.0\.1:(\d+)/, env);
  const orderIds: string[] = [];
  const wrongKey = `sk_0123456789ab_${randomBytes(32).toString('base64url')}`;
  const requestId = `secrets-test-${randomBytes(6).toString('hex')}`;
  try {
    await worker.started;
    const base = `http://127.0.0.1:${(await api.started)[1]}`;
    const withMarkers = (token: string) => {
      const body = orderBody(s, { token });
      body.shippingAddress = { ...body.shippingAddress, line1: markers.street, city: markers.city };
      body.shippingAddress.postalCode = markers.postalCode;
      return body;
    };
    // One that completes with the marker token, one declined (tok_declined) and compensated with the address.
    const bodies = [withMarkers(markers.token), withMarkers('tok_declined')];
    for (const body of bodies) {
      const res = await http(base, 'POST', '/orders', body);
      expect(res.status).toBe(202);
      orderIds.push(body.orderId);
    }
    const states = await Promise.all(
      orderIds.map((id) => waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(id)))),
    );
    expect(states.map((state) => state.status)).toEqual([SagaStatus.COMPLETED, SagaStatus.COMPENSATED]);

    // Requests that fail: an invalid body that carries the markers, a credential that is not one.
    const bad = { ...withMarkers(markers.token), deliveryDate: 'not-a-date', items: [{ sku: s.sku, quantity: -1 }] };
    const refused = await http(base, 'POST', '/orders', bad);
    expect(refused.status).toBe(400);
    const unauthorized = await http(base, 'GET', `/orders/${orderIds[0]}`, undefined, {
      authorization: `Bearer ${wrongKey}`,
    });
    expect(unauthorized.status).toBe(401);
    for (const answer of [refused, unauthorized]) {
      const text = JSON.stringify(answer.body);
      for (const value of [...Object.values(markers), wrongKey, testApiKey()]) expect(text).not.toContain(value);
    }
    // A read answers with the saga's state (decrypted, to a reader: docs/security.md), which the logs must not copy.
    const read = await http(base, 'GET', `/orders/${orderIds[1]}`, undefined, { 'x-request-id': requestId });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-request-id')).toBe(requestId);
  } finally {
    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    await Promise.race([Promise.all([api.exited, worker.exited]), new Promise((r) => setTimeout(r, 20_000))]);
    killIfRunning(api.child);
    killIfRunning(worker.child);
  }

  const logs = `${api.output()}\n${worker.output()}`;
  const apiLines = [...parseLines(api.stdout()), ...parseLines(api.stderr())];
  const workerLines = [...parseLines(worker.stdout()), ...parseLines(worker.stderr())];
  expect(new Set(apiLines.map((l) => l.name))).toEqual(new Set(['api']));
  expect(new Set(workerLines.map((l) => l.name))).toEqual(new Set(['worker']));

  // The API: every request's line has its request id; the one sent is taken, sent back and logged, with the saga.
  const requests = apiLines.filter((l) => l.req !== undefined);
  expect(requests.length).toBeGreaterThanOrEqual(5);
  for (const line of requests) expect(line).toMatchObject({ requestId: expect.any(String), res: expect.anything() });
  expect(new Set(requests.map((l) => l.requestId)).size).toBe(requests.length);
  expect(requests.filter((l) => l.requestId === requestId)).toEqual([
    expect.objectContaining({
      req: { method: 'GET', path: `/orders/${orderIds[1]}` },
      res: { statusCode: 200 },
      sagaId: orderIds[1],
      sagaType: ORDER_SAGA,
      workflowId: orderWorkflowId(orderIds[1]!),
    }),
  ]);
  for (const id of orderIds) {
    const started = requests.find((l) => (l.req as { method: string }).method === 'POST' && l.sagaId === id);
    expect(started).toMatchObject({ res: { statusCode: 202 }, workflowId: orderWorkflowId(id), sagaType: ORDER_SAGA });
  }

  // The worker: every line about one of these sagas names it; an activity's line its step and attempt.
  for (const id of orderIds) {
    const about = workerLines.filter((l) => l.workflowId === orderWorkflowId(id));
    expect(about.length).toBeGreaterThan(5);
    for (const line of about) expect(line).toMatchObject({ sagaId: id, sagaType: ORDER_SAGA });
    const activities = about.filter((l) => l.activityType !== undefined);
    expect(activities.length).toBeGreaterThan(0);
    for (const line of activities) {
      expect(line).toMatchObject({ step: line.activityType, attempt: expect.any(Number) });
      expect(line).not.toHaveProperty('taskToken');
    }
    expect(about.some((l) => l.sdkComponent === 'workflow')).toBe(true); // the saga engine's own lines
  }
  const [completed, declined] = orderIds.map(orderWorkflowId) as [string, string];
  const attemptsOf = (workflowId: string, activityType: string) =>
    workerLines.filter((l) => l.workflowId === workflowId && l.activityType === activityType).map((l) => l.attempt);
  // The faults' retries: attempt 2 of the payment (both orders) and of the credit's release (the declined one).
  expect(attemptsOf(completed, 'processPayment')).toEqual(expect.arrayContaining([1, 2]));
  expect(attemptsOf(declined, 'processPayment')).toEqual(expect.arrayContaining([1, 2]));
  expect(attemptsOf(declined, 'releaseCredit')).toEqual(expect.arrayContaining([1, 2]));
  const sagaLine = (workflowId: string, msg: string) =>
    workerLines.filter((l) => l.workflowId === workflowId && l.sdkComponent === 'workflow' && l.msg === msg);
  expect(sagaLine(completed, 'Saga COMPLETED')).toHaveLength(1);
  expect(sagaLine(declined, 'Step failed')).toEqual([
    expect.objectContaining({ step: 'processPayment', attempt: 2, failureType: BusinessFailure.PaymentDeclined }),
  ]);
  expect(sagaLine(declined, 'Step compensated')).toContainEqual(
    expect.objectContaining({ step: 'reserveCredit', compensation: 'releaseCredit', attempt: 2 }),
  );
  expect(sagaLine(declined, 'Saga COMPENSATED')).toHaveLength(1);

  // Each failure once, with its error, where it happened: not again by the layers it passes through.
  const failures = [...apiLines, ...workerLines]
    .filter((l) => l.err !== undefined)
    .map((l) => `${String(l.workflowId)} ${String(l.activityType)} #${String(l.attempt)}`);
  expect(failures.sort()).toEqual(
    [
      `${completed} processPayment #1`,
      `${declined} processPayment #1`,
      `${declined} processPayment #2`,
      `${declined} releaseCredit #1`,
    ].sort(),
  );
  const count = (text: string) => logs.split('\n').filter((line) => line.includes(text)).length;
  expect(count('processPayment: injected failure on attempt 1')).toBe(2);
  expect(count('releaseCredit: injected failure on attempt 1')).toBe(1);
  expect(count(`Payment for order ${orderIds[1]} was declined`)).toBe(1);
  // The logs talk about these sagas: the search below is over the right lines.
  for (const id of orderIds) expect(logs).toContain(id);
  expect(logs).toMatch(/InjectedFault|injected/i);

  const apiKey = testApiKey();
  const payloadKeys = (payloadKeyEnv().PAYLOAD_KEYS ?? '').split(',').map((entry) => entry.split(':')[1]!);
  expect(payloadKeys.length).toBeGreaterThan(0);
  const secrets: Record<string, string> = {
    'the API key': apiKey,
    "the API key's secret": apiKey.split('_').slice(2).join('_'),
    'the wrong key': wrongKey,
    ...Object.fromEntries(payloadKeys.map((key, i) => [`payload key ${i}`, key])),
    ...Object.fromEntries(
      payloadKeys.map((key, i) => [`payload key ${i} (hex)`, Buffer.from(key, 'base64').toString('hex')]),
    ),
    ...markers,
  };
  const found = Object.entries(secrets).filter(([, value]) => logs.includes(value));
  expect(found.map(([name]) => name)).toEqual([]);
  // The headers of a request: never logged, not even in part.
  expect(logs).not.toMatch(/authorization/i);
  expect(authHeaders().authorization).toContain(apiKey);
}, 120_000);

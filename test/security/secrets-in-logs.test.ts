/**
 * Secrets stay secret (docs/security.md): the real API and worker processes run sagas whose payment token, street,
 * city and postal code are marker values (completed, declined and compensated, with injected transient faults so
 * that failures and retries are logged), are sent requests that fail (a bad body carrying the markers, a wrong key),
 * and are stopped; then everything both processes wrote (stdout and stderr) is searched for the API key, the
 * payload key and the markers. None may be there, and no error body may carry a marker. The logs do name the
 * sagas' ids (so the search is over logs that talk about these sagas).
 */
import { randomBytes } from 'node:crypto';
import { payloadKeyEnv } from '../../codec/data-converter';
import { orderWorkflowId, type OrderState } from '../../common/order';
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
  });
  const worker = startProcess('bootstrap/worker-main.ts', /Worker polling/, env);
  const api = startProcess('bootstrap/api-main.ts', /listening on http:\/\/127\.0\.0\.1:(\d+)/, env);
  const orderIds: string[] = [];
  const wrongKey = `sk_0123456789ab_${randomBytes(32).toString('base64url')}`;
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
    const read = await http(base, 'GET', `/orders/${orderIds[1]}`);
    expect(read.status).toBe(200);
  } finally {
    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    await Promise.race([Promise.all([api.exited, worker.exited]), new Promise((r) => setTimeout(r, 20_000))]);
    killIfRunning(api.child);
    killIfRunning(worker.child);
  }

  const logs = `${api.output()}\n${worker.output()}`;
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

import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { admission } from '../../api/admission';
import { createApp } from '../../api/app';
import { errorHandler } from '../../api/errors';
import { unique } from '../support/fixtures';
import { authHeaders, http, startHarness, type Harness } from '../support/harness';
import { testAuthenticator } from '../support/lane';

/** An app whose POST handler waits until released, so requests can be held in progress. */
function holdingApp(maxStarting: number) {
  const waiting: (() => void)[] = [];
  const app = express();
  app.post('/orders', admission({ maxStarting, retryAfterSeconds: 2 }), (_req, res) => {
    void new Promise<void>((r) => waiting.push(r)).then(() => res.status(202).end());
  });
  app.get('/orders', (_req, res) => void res.json([]));
  app.use(errorHandler);
  return { app, releaseAll: () => waiting.splice(0).forEach((r) => r()), waiting };
}

describe('admission control', () => {
  test('beyond the limit of sagas starting at once, a start answers 503 with Retry-After at once; reads pass', async () => {
    const { app, releaseAll, waiting } = holdingApp(2);
    const server = app.listen(0);
    try {
      const held = [request(server).post('/orders'), request(server).post('/orders')].map((r) => r.then((x) => x));
      while (waiting.length < 2) await new Promise((r) => setTimeout(r, 10));
      const refused = await request(server).post('/orders');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('2');
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect((await request(server).get('/orders')).status).toBe(200);
      releaseAll();
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([202, 202]);
      // the slots are free again
      const again = request(server)
        .post('/orders')
        .then((x) => x);
      while (waiting.length < 1) await new Promise((r) => setTimeout(r, 10));
      releaseAll();
      expect((await again).status).toBe(202);
    } finally {
      server.close();
    }
  });
});

describe('admission control in the API', () => {
  let h: Harness;
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    h = await startHarness('admission');
    server = createApp({
      temporal: h.client,
      db: h.db,
      taskQueue: h.taskQueue,
      bodyLimit: 100_000,
      auth: testAuthenticator(),
      admission: { maxStarting: 1, retryAfterSeconds: 2 },
    }).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await h?.stop();
  });

  /** A saga start held in progress: its body is announced but never finishes arriving, until `abandon`. */
  function heldStart(path: string) {
    const req = httpRequest(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '1000', ...authHeaders() },
    });
    req.on('error', () => undefined); // abandoned on purpose
    req.write('{');
    return { abandon: () => req.destroy() };
  }

  test('with the saga starts at their limit, a start answers 503 + Retry-After; other POSTs are not counted', async () => {
    const held = heldStart('/orders');
    try {
      // Once the held start is counted, another start is refused before its body is even read.
      let refused = await http(baseUrl, 'POST', '/transport-orders', {});
      for (let i = 0; refused.status !== 503 && i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        refused = await http(baseUrl, 'POST', '/transport-orders', {});
      }
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('2');
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect((await http(baseUrl, 'POST', '/orders', {})).status).toBe(503);

      const customerId = unique('cust');
      const created = await http(baseUrl, 'POST', '/customers', { id: customerId, name: 'C', creditLimit: 10 });
      expect(created.status).toBe(201);
      expect((await http(baseUrl, 'POST', '/parcels', { weightKg: 1 })).status).toBe(201);
      expect((await http(baseUrl, 'POST', `/orders/${unique('none')}/cancel`)).status).toBe(404);
      expect((await http(baseUrl, 'POST', `/transport-orders/${unique('none')}/approve`)).status).toBe(404);
    } finally {
      held.abandon();
    }
    // The abandoned start's slot is free again: the next start is read (and refused for its empty body).
    let next = await http(baseUrl, 'POST', '/orders', {});
    for (let i = 0; next.status === 503 && i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      next = await http(baseUrl, 'POST', '/orders', {});
    }
    expect(next.status).toBe(400);
  });
});

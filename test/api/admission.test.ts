import express from 'express';
import request from 'supertest';
import { admission } from '../../api/admission';
import { errorHandler } from '../../api/errors';

/** An app whose POST handler waits until released, so requests can be held in progress. */
function holdingApp(maxStarting: number) {
  const waiting: (() => void)[] = [];
  const app = express();
  app.use(admission({ maxStarting, retryAfterSeconds: 2 }));
  app.post('/orders', (_req, res) => void new Promise<void>((r) => waiting.push(r)).then(() => res.status(202).end()));
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

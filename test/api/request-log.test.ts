import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { AppError, errorHandler } from '../../api/errors';
import { logSagaOfRequest, requestIdOf, requestLogging } from '../../api/request-log';

/** The API's request lines (api/request-log.ts), written into memory: one small app, no servers. */

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('the request id', () => {
  test.each(['abc-123', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '4bf92f3577b34da6a3ce929d0e0e4736', 'a.b_c:d', 'x'])(
    'a valid X-Request-Id (%s) is taken as it is',
    (id) => expect(requestIdOf(id)).toBe(id),
  );

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['with a space', 'abc 123'],
    ['two ids joined by a proxy', 'abc, def'],
    ['with a newline', 'abc\n{"level":60}'],
    ['not ASCII', 'идентификатор'],
    ['with quotes', '"abc"'],
    ['longer than 128 characters', 'a'.repeat(129)],
  ])('an invalid one (%s) is replaced by a fresh UUID', (_what, header) => {
    const id = requestIdOf(header);
    expect(id).toMatch(uuid);
    expect(requestIdOf(header)).not.toBe(id);
  });
});

describe('the request lines', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const app = express();
  app.use(requestLogging(logger, { quietPaths: ['/health'] }));
  app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/orders/:orderId', (req, res) => {
    const orderId = req.params.orderId;
    logSagaOfRequest(req, res, { workflowId: `order-${orderId}`, sagaType: 'orderSaga', sagaId: orderId });
    req.log.info('reading');
    res.json({ orderId });
  });
  app.get('/broken', () => {
    throw new Error('the handler broke', { cause: new Error('because of this') });
  });
  app.get('/unreachable', () => {
    throw AppError.unavailable('The identity provider cannot be reached; retry later', {
      cause: new Error('JWKS could not be fetched', { cause: new Error('connect ECONNREFUSED') }),
    });
  });
  app.get('/refused', () => {
    throw AppError.unavailable('The API is shutting down');
  });
  app.get('/invalid', () => {
    throw AppError.badRequest('The body is not valid JSON');
  });
  app.use(errorHandler);
  beforeEach(() => lines.splice(0));

  test('a valid X-Request-Id is sent back and logged; an invalid one is replaced, in the answer and the log', async () => {
    const valid = await request(app).get('/health').set('X-Request-Id', 'from-the-caller-1');
    expect(valid.headers['x-request-id']).toBe('from-the-caller-1');
    const invalid = await request(app).get('/health').set('X-Request-Id', 'not valid: it has spaces');
    const replaced = invalid.headers['x-request-id'] as string;
    expect(replaced).toMatch(uuid);
    const fresh = await request(app).get('/health');
    expect(fresh.headers['x-request-id']).toMatch(uuid);
    expect(lines.map((l) => l.requestId)).toEqual(['from-the-caller-1', replaced, fresh.headers['x-request-id']]);
    expect(JSON.stringify(lines)).not.toContain('spaces');
  });

  test('a line has the method, the path, the status and the time; no query, header or cookie', async () => {
    await request(app)
      .get('/orders/1001?token=tok_secret')
      .set('Authorization', 'Bearer sk_secret')
      .set('Cookie', 'saga_codec_session=secret');
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'reading', requestId: expect.any(String), sagaId: '1001' }),
      expect.objectContaining({
        level: 30,
        msg: 'GET /orders/1001 200',
        req: { method: 'GET', path: '/orders/1001' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
        workflowId: 'order-1001',
        sagaType: 'orderSaga',
        sagaId: '1001',
      }),
    ]);
    expect(lines[0]!.requestId).toBe(lines[1]!.requestId);
    expect(JSON.stringify(lines)).not.toMatch(/secret|authorization|cookie/i);
  });

  test('probes are logged at debug, unless they fail', async () => {
    await request(app).get('/health');
    expect(lines).toEqual([expect.objectContaining({ level: 20 })]);
  });

  test('an unexpected error is logged once, on its request line, with its cause; the client gets none of it', async () => {
    const res = await request(app).get('/broken');
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toMatch(/handler broke|because of this/);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        res: { statusCode: 500 },
        err: expect.objectContaining({
          type: 'Error',
          message: 'the handler broke: because of this',
          stack: expect.stringContaining('caused by: Error: because of this'),
        }),
      }),
    ]);
  });

  test('a dependency that cannot be reached: a warning, with why', async () => {
    const res = await request(app).get('/unreachable');
    expect(res.status).toBe(503);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        res: { statusCode: 503 },
        err: expect.objectContaining({
          type: 'AppError',
          message:
            'The identity provider cannot be reached; retry later: JWKS could not be fetched: connect ECONNREFUSED',
        }),
      }),
    ]);
  });

  test("the API's own answers (a 4xx, a 503 with no cause) carry no error: nothing went wrong on our side", async () => {
    expect((await request(app).get('/refused')).status).toBe(503);
    expect((await request(app).get('/invalid')).status).toBe(400);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, res: { statusCode: 503 } }),
      expect.objectContaining({ level: 30, res: { statusCode: 400 } }),
    ]);
    for (const line of lines) expect(line).not.toHaveProperty('err');
  });
});

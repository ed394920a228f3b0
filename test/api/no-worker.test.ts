import { ServiceError } from '@temporalio/client';
import { errorHandler, isWithoutWorker } from '../../api/errors';
import { startOrderSaga } from '../faults/support';
import { orderBody, seed, unique } from '../support/fixtures';
import { http, startHarness, type Harness } from '../support/harness';
import { ContractChecker } from './support';

/**
 * A saga no worker serves cannot answer a query: Temporal holds it until the API's call deadline (a queue no worker
 * ever polled), or refuses it (FAILED_PRECONDITION "no poller seen", once its workers are gone). The API says so
 * with the documented 503 and `Retry-After`, never a 500.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness('no-worker');
});
afterAll(async () => {
  await h?.stop();
});

test('reading a saga no worker serves answers 503 with Retry-After once the Temporal call deadline passes', async () => {
  const s = await seed(h);
  const body = orderBody(s);
  // On a task queue no worker has ever polled.
  await startOrderSaga(h, body, unique('nobody-polls'));
  const contract = new ContractChecker();
  for (const [docPath, urlPath] of [
    ['/orders/{orderId}', `/orders/${body.orderId}`],
    ['/orders/{orderId}/events', `/orders/${body.orderId}/events`],
  ] as const) {
    const res = await http(h.baseUrl, 'GET', urlPath);
    contract.check('GET', docPath, res);
    expect([urlPath, res.status, res.headers.get('retry-after')]).toEqual([
      urlPath,
      503,
      expect.stringMatching(/^\d+$/),
    ]);
  }
});

test('a query Temporal refuses for want of a worker is a 503 with Retry-After', () => {
  // What the client throws then (seen on a task queue whose workers had stopped).
  const refused = new ServiceError('Failed to query Workflow', {
    cause: Object.assign(
      new Error('9 FAILED_PRECONDITION: no poller seen for task queue recently, worker may be down'),
      {
        code: 9,
        details: 'no poller seen for task queue recently, worker may be down',
        metadata: {},
      },
    ),
  });
  expect(isWithoutWorker(refused)).toBe(true);
  expect(
    isWithoutWorker(new ServiceError('Failed to query Workflow', { cause: new Error('9 FAILED_PRECONDITION') })),
  ).toBe(false);
  const headers: Record<string, string> = {};
  let status = 0;
  let body: unknown;
  const res = {
    headersSent: false,
    setHeader: (name: string, value: string) => void (headers[name] = value),
    status(code: number) {
      status = code;
      return this;
    },
    type() {
      return this;
    },
    json(value: unknown) {
      body = value;
      return this;
    },
  };
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    errorHandler(
      refused,
      { method: 'GET', path: '/orders/o1', originalUrl: '/orders/o1' } as never,
      res as never,
      () => undefined,
    );
  } finally {
    warn.mockRestore();
  }
  expect([status, headers['Retry-After'], (body as { detail: string }).detail]).toEqual([
    503,
    '5',
    'No saga worker is answering right now; retry later',
  ]);
});

import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { reportAttempts } from '../../workers/interceptors/attempt-reporting';

/** Attempt reporting, the activity interceptor every saga worker installs: what the workflows rely on. */
const onAttempt = (attempt: number, fn: (key: string) => Promise<unknown>): Promise<unknown> =>
  new MockActivityEnvironment({ attempt }, { interceptors: [reportAttempts] }).run(fn, 'k');

test('a result carries the attempt that produced it', async () => {
  await expect(onAttempt(3, (key) => Promise.resolve(key.toUpperCase()))).resolves.toEqual({ value: 'K', attempt: 3 });
});

test('a business failure stays non-retryable with its type and carries its attempt as the first detail', async () => {
  const failure = await onAttempt(2, () =>
    Promise.reject(ApplicationFailure.nonRetryable('card declined', 'PaymentDeclined')),
  ).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ message: 'card declined', type: 'PaymentDeclined', nonRetryable: true });
  expect((failure as ApplicationFailure).details).toEqual([{ attempt: 2 }]);
});

test('any other error becomes a retryable failure typed by its name, with its attempt', async () => {
  class MongoNetworkError extends Error {
    override name = 'MongoNetworkError';
  }
  const failure = await onAttempt(5, () => Promise.reject(new MongoNetworkError('connection reset'))).catch(
    (err: unknown) => err,
  );
  expect(failure).toMatchObject({ message: 'connection reset', type: 'MongoNetworkError', nonRetryable: false });
  expect((failure as ApplicationFailure).details).toEqual([{ attempt: 5 }]);
});

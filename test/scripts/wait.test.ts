import { ServiceError, type WorkflowHandle } from '@temporalio/client';
import { waitForSagaStatus } from '../../scripts/lib/wait';

/** A handle whose getState query answers from `answers` in turn (an Error is thrown). */
function handleAnswering(answers: (object | Error)[]): WorkflowHandle {
  let i = 0;
  return {
    workflowId: 'order-w',
    query: () => {
      const answer = answers[Math.min(i++, answers.length - 1)]!;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  } as unknown as WorkflowHandle;
}
const timedOut = () =>
  new ServiceError('Failed to query Workflow', {
    cause: Object.assign(new Error('4 DEADLINE_EXCEEDED: query timed out before a worker could process it'), {
      code: 4,
    }),
  });

test('a query that timed out before a worker answered is polled again; the final state is returned', async () => {
  const handle = handleAnswering([timedOut(), { status: 'RUNNING' }, timedOut(), { status: 'COMPLETED' }]);
  await expect(waitForSagaStatus(handle, ['COMPLETED'], { intervalMs: 1 })).resolves.toEqual({ status: 'COMPLETED' });
});

test('any other failure of the query fails the wait at once', async () => {
  const notFound = new ServiceError('Failed to query Workflow', {
    cause: Object.assign(new Error('5 NOT_FOUND'), { code: 5 }),
  });
  await expect(waitForSagaStatus(handleAnswering([notFound]), ['COMPLETED'], { intervalMs: 1 })).rejects.toBe(notFound);
});

test('still timing out when the wait ends: the timeout names the reason', async () => {
  await expect(
    waitForSagaStatus(handleAnswering([timedOut()]), ['COMPLETED'], { intervalMs: 1, timeoutMs: 50 }),
  ).rejects.toThrow(/a query timed out before a worker could answer it/);
});

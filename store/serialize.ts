/**
 * Runs read-modify-write operations on one document one at a time within this process.
 *
 * Why: FerretDB v1 (our local and test MongoDB-compatible server) evaluates an update's filter in
 * its own process and then writes the document back by `_id`, outside any transaction. Concurrent
 * conditional updates of one document therefore race: each reports `modifiedCount: 1`, and all but
 * one `$inc` is lost (the concurrency tests in `test/activities/idempotency.test.ts` fail without this). MongoDB applies such
 * updates atomically, so there this lock only costs a map lookup. On FerretDB, run one worker
 * process per database: the lock does not reach across processes.
 */
const tails = new Map<string, Promise<void>>();

export async function serialized<T>(lockKey: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(lockKey) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  tails.set(lockKey, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(lockKey) === tail) tails.delete(lockKey);
  }
}

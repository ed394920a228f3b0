import { createFaultyActivities, Faults } from './activity-faults';
import type { Harness } from './harness';
import { servedCountries, startTestApi, startTestWorker } from './lane';

/** A second worker and API on their own task queue, whose activities obey test-set fault rules. */
export interface FaultyLane {
  faults: Faults;
  taskQueue: string;
  /** The real API, starting sagas on this lane's task queue. */
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * Next to a harness (same Temporal, same database): sagas started through `baseUrl` run on a worker whose
 * activities can be held at a gate or made to fail (see activity-faults.ts), e.g. to keep a saga running until a
 * test cancels or resets it. Stop it before the harness (which drops the database).
 */
export async function startFaultyLane(h: Harness): Promise<FaultyLane> {
  const faults = new Faults();
  const taskQueue = `${h.taskQueue}-faults`;
  const deps = { db: h.db, client: h.client };
  const worker = await startTestWorker(deps, {
    taskQueue,
    activities: createFaultyActivities({ db: h.db, servedCountries, temporal: h.client }, faults),
  });
  const api = await startTestApi(deps, taskQueue);
  return {
    faults,
    taskQueue,
    baseUrl: api.baseUrl,
    async stop() {
      await api.stop();
      await worker.stop();
    },
  };
}

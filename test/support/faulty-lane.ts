import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from '../../api/app';
import { createSagaWorker } from '../../workers/create-worker';
import { createFaultyActivities, Faults } from './activity-faults';
import { requireEnv, servedCountries, type Harness } from './harness';

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
  const connection = await NativeConnection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  const worker = await createSagaWorker({
    connection,
    namespace: 'default',
    taskQueue,
    db: h.db,
    servedCountries,
    temporal: h.client,
    workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') },
    shutdownGraceSeconds: 2,
    overrides: { activities: createFaultyActivities({ db: h.db, servedCountries, temporal: h.client }, faults) },
  });
  const running = worker.run();
  const server: Server = createApp({ temporal: h.client, db: h.db, taskQueue, bodyLimit: 100_000 }).listen(
    0,
    '127.0.0.1',
  );
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    faults,
    taskQueue,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

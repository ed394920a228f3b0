import { NativeConnection } from '@temporalio/worker';
import { connectMongo } from '../activities/db';
import { loadConfig } from '../common/config';
import { createSagaWorker } from './create-worker';

/** The saga worker: polls the task queue until SIGINT/SIGTERM, then lets running activities finish. */
async function run(): Promise<void> {
  const config = loadConfig();
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const worker = await createSagaWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TASK_QUEUE,
      db,
      servedCountries: config.SERVED_COUNTRIES,
      shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
    });
    console.log(`Worker polling task queue '${config.TASK_QUEUE}' on ${config.TEMPORAL_ADDRESS}`);
    await worker.run(); // resolves after SIGINT/SIGTERM once in-flight work has drained
  } finally {
    await connection.close();
    await client.close();
  }
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

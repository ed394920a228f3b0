/** Worker for the plain-Temporal baseline: default worker options, the participants as regular activities. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { connectMongo } from '../../store/db';
import { SERVED_COUNTRIES } from '../lib/workload';
import { env } from './env';

async function run(): Promise<void> {
  const { db, client } = await connectMongo(env('MONGODB_URI'), env('MONGODB_DB'));
  const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
  const worker = await Worker.create({
    connection,
    taskQueue: env('TASK_QUEUE'),
    workflowsPath: require.resolve('../temporal-plain/workflows'),
    activities: createActivities({ db, servedCountries: SERVED_COUNTRIES }),
  });
  console.log('plain worker ready');
  await worker.run();
  await connection.close();
  await client.close();
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});

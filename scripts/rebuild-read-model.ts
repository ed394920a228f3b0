/**
 * `npm run rebuild-read-model`: re-projects every saga's read-model view (`sagaViews`) from its domain event stream
 * (`domainEvents`) in MongoDB (MONGODB_URI, MONGODB_DB: those of `npm start` by default), then backfills a view
 * for every saga Temporal still knows (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE) that has no stream:
 * those started before domain events (run it once after upgrading, docs/events.md "Upgrading"). Idempotent: run it
 * any number of times; a view projected from events is only written when the stream takes it at least as far as
 * the stored one, never back, and a backfill never replaces it. Safe while the worker runs on MongoDB; on FerretDB
 * v1 (no atomic conditional update across processes) run it with the worker stopped, or run it again after. The
 * backfill reads open sagas with the `getState` query, so a worker must be running for those.
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../common/config';
import { sagaDataConverter } from '../codec/data-converter';
import { connectMongo } from '../store/db';
import { ensureSagaViewIndexes, rebuildReadModel } from '../store/saga-views';
import { backfillFromTemporal } from './lib/backfill-read-model';

async function run(): Promise<void> {
  const config = loadConfig();
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await ensureSagaViewIndexes(db);
    const { streams, written } = await rebuildReadModel(db);
    process.stdout.write(`rebuild-read-model: ${streams} stream(s), ${written} view(s) written\n`);
    const temporal = new Client({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      dataConverter: sagaDataConverter(config.payloadKeyRing),
    });
    const backfill = await backfillFromTemporal(db, temporal, config.TASK_QUEUE);
    process.stdout.write(
      `rebuild-read-model: backfill: ${backfill.listed} saga(s) in Temporal, ${backfill.written} view(s) written ` +
        `from Temporal's state (sagas without a stream)\n`,
    );
    if (backfill.unreadable.length > 0) {
      process.stderr.write(
        `rebuild-read-model: backfill: state unreadable (is a worker running?), no view: ${backfill.unreadable.join(', ')}\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    await connection.close();
    await client.close();
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});

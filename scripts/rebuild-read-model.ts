/**
 * `npm run rebuild-read-model`: re-projects every saga's read-model view (`sagaViews`) from its domain event stream
 * (`domainEvents`) in MongoDB (MONGODB_URI, MONGODB_DB: those of `npm start` by default). Idempotent: run it any
 * number of times; a view is only written when the stream takes it at least as far as the stored one, never back.
 * Safe while the worker runs on MongoDB; on FerretDB v1 (no atomic conditional update across processes) run it with
 * the worker stopped, or run it again after (docs/events.md).
 */
import { loadMongoConfig } from '../common/config';
import { connectMongo } from '../store/db';
import { ensureSagaViewIndexes, rebuildReadModel } from '../store/saga-views';

async function run(): Promise<void> {
  const config = loadMongoConfig();
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  try {
    await ensureSagaViewIndexes(db);
    const { streams, written } = await rebuildReadModel(db);
    process.stdout.write(`rebuild-read-model: ${streams} stream(s), ${written} view(s) written\n`);
  } finally {
    await client.close();
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});

import { MongoServerError, type Db } from 'mongodb';
import type { DomainEvent } from '../common/domain-events';

/**
 * The domain event streams (docs/events.md): one document per event in `domainEvents`, `_id` = the event id
 * (`<workflowId>#<sequence>`), `streamId` = the saga's workflow id. Appending inserts each event it is given that is
 * not stored yet, by its id, ignoring a duplicate (a concurrent append), one insert after the other in sequence
 * order: a retried append, or one that a killed worker
 * had half done, stores every event once and the stream never has a gap before a stored event. An insert with a
 * unique `_id` is the one write FerretDB v1 makes safe across processes (docs: field notes).
 */
export type DomainEventDoc = DomainEvent & { _id: string; streamId: string };

export function domainEventCollection(db: Db) {
  return db.collection<DomainEventDoc>('domainEvents');
}

function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}

/** Appends events of one stream in order; returns how many were new (the others were stored already). */
export async function appendEvents(db: Db, streamId: string, events: readonly DomainEvent[]): Promise<number> {
  const col = domainEventCollection(db);
  const ids = events.map((e) => e.eventId);
  const stored = new Set(
    (await col.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id),
  );
  let added = 0;
  for (const event of [...events].sort((a, b) => a.sequence - b.sequence)) {
    if (stored.has(event.eventId)) continue;
    try {
      await col.insertOne({ ...event, _id: event.eventId, streamId });
      added += 1;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  return added;
}

/** One stream, oldest first, without the storage fields. */
export async function readStream(db: Db, streamId: string, afterSequence = 0): Promise<DomainEvent[]> {
  const docs = await domainEventCollection(db)
    .find({ streamId, sequence: { $gt: afterSequence } })
    .sort({ sequence: 1 })
    .toArray();
  return docs.map(({ _id, streamId: _stream, ...event }) => event);
}

export async function ensureDomainEventIndexes(db: Db): Promise<void> {
  await domainEventCollection(db).createIndex({ streamId: 1, sequence: 1 });
}

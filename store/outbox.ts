import type { Db } from 'mongodb';
import { domainEventId, type DomainEvent } from '../common/domain-events';
import { isDuplicateKey, isDuplicateKeyBulk } from './duplicate-key';

/**
 * The outbox (docs/events.md, "Broker"): one small marker per domain event not yet published to RabbitMQ, in its
 * own collection `outbox`, `_id` = the event id, carrying the event as the append writes it (so the relay reads a
 * batch of events in one scan of this small collection, not one read each from the large `domainEvents`). The append
 * (store/domain-events.ts) inserts an event's marker just before the event itself, so a crash between the two leaves
 * a marker whose event is not stored yet (the relay waits for it: the append's retry stores it), never a stored
 * event without a marker. The relay deletes a marker once the broker has confirmed its event. The collection holds
 * only what is in flight, so its scan (FerretDB v1 scans a collection for anything but an `_id` equality) stays
 * cheap; every write is by `_id`.
 */
export interface OutboxMarkerDoc {
  /** The event id, `<workflowId>#<sequence>`. */
  _id: string;
  /** The saga's workflow id. */
  streamId: string;
  sequence: number;
  /** The event, as `GET …/domain-events` serves it and the relay publishes it. */
  event: DomainEvent;
  createdAt: Date;
}

export function outboxCollection(db: Db) {
  return db.collection<OutboxMarkerDoc>('outbox');
}

/** An event's marker as the append inserts it. */
function markerOf(streamId: string, event: DomainEvent, createdAt: Date): OutboxMarkerDoc {
  return { _id: domainEventId(streamId, event.sequence), streamId, sequence: event.sequence, event, createdAt };
}

/** Inserts an event's marker; a duplicate (a retried or concurrent append) is ignored. */
export async function insertOutboxMarker(db: Db, streamId: string, event: DomainEvent): Promise<void> {
  try {
    await outboxCollection(db).insertOne(markerOf(streamId, event, new Date()));
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** Inserts the markers of a batch in one unordered insert; duplicates (a retried or concurrent append) are ignored. */
export async function insertOutboxMarkers(db: Db, streamId: string, events: readonly DomainEvent[]): Promise<void> {
  const createdAt = new Date();
  try {
    await outboxCollection(db).insertMany(
      events.map((event) => markerOf(streamId, event, createdAt)),
      { ordered: false },
    );
  } catch (err) {
    if (!isDuplicateKeyBulk(err)) throw err;
  }
}

/**
 * Up to `limit` markers, by stream and then sequence: so each stream's markers in the answer are the first ones it
 * has outstanding (a stream cut off by the limit loses its last ones, never its first).
 */
export async function readOutboxMarkers(db: Db, limit: number): Promise<OutboxMarkerDoc[]> {
  return outboxCollection(db).find({}).sort({ streamId: 1, sequence: 1 }).limit(limit).toArray();
}

export async function outboxMarkerExists(db: Db, streamId: string, sequence: number): Promise<boolean> {
  const id = domainEventId(streamId, sequence);
  return (await outboxCollection(db).findOne({ _id: id }, { projection: { _id: 1 } })) !== null;
}

/** Deletes the markers of published events (by `_id`; the collection is small, so `$in` costs one short scan). */
export async function deleteOutboxMarkers(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await outboxCollection(db).deleteMany({ _id: { $in: [...ids] } });
}

/** Markers outstanding: the relay's backlog. */
export function countOutboxMarkers(db: Db): Promise<number> {
  return outboxCollection(db).countDocuments({});
}

/** On MongoDB the relay's scan then reads the index in order; FerretDB v1 scans and sorts the small collection. */
export async function ensureOutboxIndexes(db: Db): Promise<void> {
  await outboxCollection(db).createIndex({ streamId: 1, sequence: 1 });
}

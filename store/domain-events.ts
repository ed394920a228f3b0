import type { Db } from 'mongodb';
import { domainEventId, type DomainEvent } from '../common/domain-events';
import { isDuplicateKey, isDuplicateKeyBulk } from './duplicate-key';
import { ensureOutboxIndexes, insertOutboxMarker, insertOutboxMarkers } from './outbox';

/**
 * The domain event streams (docs/events.md): one document per event in `domainEvents`, `_id` = the event id
 * (`<workflowId>#<sequence>`), `streamId` = the saga's workflow id. Appending inserts each event it is given that is
 * not stored yet, by its id, ignoring a duplicate (a concurrent append), one insert after the other in sequence
 * order: a retried append, or one that a killed worker
 * had half done, stores every event once and the stream never has a gap before a stored event. An insert with a
 * unique `_id` is the one write FerretDB v1 makes safe across processes (docs: field notes). Each event's outbox marker
 * (store/outbox.ts) is inserted just before the event: the relay publishes it to RabbitMQ (docs/events.md, "Broker").
 */
export type DomainEventDoc = DomainEvent & { _id: string; streamId: string };

export function domainEventCollection(db: Db) {
  return db.collection<DomainEventDoc>('domainEvents');
}

/**
 * Appends events of one stream in order; returns how many were new (the others were stored already). Every read is
 * by `_id`: FerretDB v1 answers only an `_id` equality from its primary key and scans the whole collection for any
 * other filter (`$in`, another field), which made every append slower as the collection grew. The events stored
 * are a prefix of the stream (each append inserts in sequence order), so walking back from the batch's last event
 * to the first one stored finds what is missing. `storedThrough`, a sequence known stored (the saga's view has
 * applied it, and a view applies only stored events), ends the walk there without reading.
 */
export async function appendEvents(
  db: Db,
  streamId: string,
  events: readonly DomainEvent[],
  storedThrough = 0,
): Promise<number> {
  const col = domainEventCollection(db);
  const sorted = [...events].sort((a, b) => a.sequence - b.sequence);
  let firstMissing = sorted.length;
  while (firstMissing > 0) {
    const candidate = sorted[firstMissing - 1]!;
    // Known stored without a read: at or before `storedThrough` (the stored view's last event, see the caller).
    if (candidate.sequence <= storedThrough) break;
    if ((await col.findOne({ _id: candidate.eventId }, { projection: { _id: 1 } })) !== null) break;
    firstMissing -= 1;
  }
  let added = 0;
  for (const event of sorted.slice(firstMissing)) {
    // The marker first: a crash between the two leaves a marker without its event (the retry stores the event, and
    // the relay waits for it), never an event that is stored but never published. An event already stored was
    // skipped by the walk-back above, so its marker (perhaps published and deleted since) is not made again.
    await insertOutboxMarker(db, streamId, event);
    try {
      await col.insertOne({ ...event, _id: event.eventId, streamId });
      added += 1;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  return added;
}

/**
 * A batch that does not start right after the sequence it says it follows: a fault in the caller, not in the data
 * or the database. Left retryable on purpose: the saga's append retries without a limit, so the saga stays open,
 * its pending local activity naming this error, until a worker with the fault mended replays it; a non-retryable
 * failure would fail the saga with its steps half done and no compensation run.
 */
export class StreamGapError extends Error {
  override readonly name = 'StreamGapError';
  constructor(streamId: string, first: number, after: number) {
    super(`Batch of ${streamId} starts at ${first}, not ${after + 1}`);
  }
}

/**
 * Appends a batch that follows sequence `after`, every event up to which is stored (the saga appends one batch after
 * the other): one read and two writes for the whole batch where `appendEvents` needs a read and two writes per
 * event. The read is the batch's first event: not stored means none of the batch is (the stored events are a prefix
 * of the stream), so every marker goes in one unordered insert (a duplicate from a concurrent attempt is ignored),
 * then every event in one ordered insert, which stops at an error and so never leaves a gap. A batch found stored,
 * or an insert that meets a duplicate (a retried or concurrent attempt got there first), goes on one event at a
 * time (`appendEvents`, which skips what is stored). Returns how many events were new.
 */
export async function appendFollowing(
  db: Db,
  streamId: string,
  events: readonly DomainEvent[],
  after: number,
): Promise<number> {
  const sorted = [...events].sort((a, b) => a.sequence - b.sequence);
  const first = sorted[0];
  if (first === undefined) return 0;
  if (first.sequence !== after + 1) throw new StreamGapError(streamId, first.sequence, after);
  if (await eventStored(db, first.eventId)) return appendEvents(db, streamId, sorted, after);
  await insertOutboxMarkers(db, streamId, sorted);
  try {
    await domainEventCollection(db).insertMany(
      sorted.map((event) => ({ ...event, _id: event.eventId, streamId })),
      { ordered: true },
    );
    return sorted.length;
  } catch (err) {
    if (!isDuplicateKeyBulk(err)) throw err;
    const inserted = err.result.insertedCount;
    return inserted + (await appendEvents(db, streamId, sorted, after + inserted));
  }
}

/**
 * One stream after `afterSequence`, oldest first, without the storage fields: each event read by its id
 * (`<workflowId>#<sequence>`), up to the first that is not stored (see `appendEvents` for why by id).
 */
export async function readStream(db: Db, streamId: string, afterSequence = 0): Promise<DomainEvent[]> {
  const col = domainEventCollection(db);
  const events: DomainEvent[] = [];
  for (let sequence = afterSequence + 1; ; sequence++) {
    const doc = await col.findOne({ _id: domainEventId(streamId, sequence) });
    if (doc === null) return events;
    events.push(toDomainEvent(doc));
  }
}

/** Whether an event is stored (one read by `_id`). */
export async function eventStored(db: Db, eventId: string): Promise<boolean> {
  return (await domainEventCollection(db).findOne({ _id: eventId }, { projection: { _id: 1 } })) !== null;
}

/** The event without the storage fields. */
function toDomainEvent(doc: DomainEventDoc): DomainEvent {
  const { _id, streamId: _stream, ...event } = doc;
  return event;
}

export async function ensureDomainEventIndexes(db: Db): Promise<void> {
  await domainEventCollection(db).createIndex({ streamId: 1, sequence: 1 });
  await ensureOutboxIndexes(db);
}

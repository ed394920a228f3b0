import { randomUUID } from 'node:crypto';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { createDomainEventActivities } from '../../activities/domain-events';
import { domainEventId, DomainEventType, type DomainEvent } from '../../common/domain-events';
import { appendFollowing, domainEventCollection, readStream, StreamGapError } from '../../store/domain-events';
import { deleteOutboxMarkers, outboxCollection } from '../../store/outbox';
import { sagaViewCollection } from '../../store/saga-views';
import { requireEnv } from '../support/harness';

/**
 * The batched append (since `patched('domain-events-per-task')`: a batch follows events that are stored), against
 * the real MongoDB-compatible server: three writes for a batch of any length, and every way an attempt can be cut
 * short or repeated stores each event once, with its marker, never a gap, never a marker again for an event that
 * was published.
 */
let mongo: MongoClient;
let db: Db;
const writes: string[] = [];

beforeAll(async () => {
  const name = `${requireEnv('MONGODB_DB')}_batches_${randomUUID().slice(0, 8)}`;
  mongo = new MongoClient(requireEnv('MONGODB_URI'), { monitorCommands: true });
  await mongo.connect();
  db = mongo.db(name);
  mongo.on('commandStarted', (e: CommandStartedEvent) => {
    if (['insert', 'update', 'delete', 'findAndModify'].includes(e.commandName)) {
      writes.push(`${e.commandName} ${String((e.command as Record<string, unknown>)[e.commandName])}`);
    }
  });
});
afterAll(async () => {
  await db?.dropDatabase();
  await mongo?.close();
});

/** A stream of `n` events: started, its total, then completed steps. */
function stream(n: number): { workflowId: string; events: DomainEvent[] } {
  const workflowId = `order-${randomUUID().slice(0, 8)}`;
  const at = '2026-12-02T00:00:00.000Z';
  const base = { sagaType: 'order' as const, sagaId: workflowId.slice(6), occurredAt: at, version: 1 as const };
  const events: DomainEvent[] = Array.from({ length: n }, (_, i) => {
    const sequence = i + 1;
    const id = { ...base, sequence, eventId: domainEventId(workflowId, sequence) };
    if (i === 0) {
      return { ...id, type: DomainEventType.SagaStarted, data: { customerId: 'c1', workflowId, runId: 'r1' } };
    }
    if (i === 1) return { ...id, type: DomainEventType.SagaTotalSet, data: { total: 12 } };
    const data = { step: `step${i}`, compensation: null, attempts: 1, startedAt: at };
    return { ...id, type: DomainEventType.StepCompleted, data };
  });
  return { workflowId, events };
}

const storedIds = async (workflowId: string) => (await readStream(db, workflowId)).map((e) => e.eventId);
const markerIds = async (workflowId: string) =>
  (await outboxCollection(db).find({ streamId: workflowId }).sort({ sequence: 1 }).toArray()).map((m) => m._id);

describe('a batch that follows stored events', () => {
  test('is stored with one insert of its markers, one of its events and one write of the view, however long', async () => {
    const { workflowId, events } = stream(9);
    const activities = createDomainEventActivities(db);
    const appendDomainEvents = (batch: Parameters<typeof activities.appendDomainEvents>[0]) =>
      activities.appendDomainEvents(batch);
    writes.length = 0;
    expect(await appendDomainEvents({ workflowId, events: events.slice(0, 5), after: 0 })).toEqual({ added: 5 });
    expect(writes).toEqual(['insert outbox', 'insert domainEvents', 'insert sagaViews']);
    writes.length = 0;
    expect(await appendDomainEvents({ workflowId, events: events.slice(5), after: 5 })).toEqual({ added: 4 });
    expect(writes).toEqual(['insert outbox', 'insert domainEvents', 'update sagaViews']);
    expect(await storedIds(workflowId)).toEqual(events.map((e) => e.eventId));
    expect(await markerIds(workflowId)).toEqual(events.map((e) => e.eventId));
    expect(await sagaViewCollection(db).findOne({ _id: workflowId })).toMatchObject({ lastSequence: 9, total: 12 });
  });

  test('run again after it was stored and published, it adds nothing and makes no marker again', async () => {
    const { workflowId, events } = stream(4);
    expect(await appendFollowing(db, workflowId, events, 0)).toBe(4);
    await deleteOutboxMarkers(db, await markerIds(workflowId)); // the relay published them
    expect(await appendFollowing(db, workflowId, events, 0)).toBe(0);
    expect(await markerIds(workflowId)).toEqual([]);
    expect(await domainEventCollection(db).countDocuments({ streamId: workflowId })).toBe(4);
  });

  test('cut short after its markers, the next attempt stores the events once', async () => {
    const { workflowId, events } = stream(4);
    await outboxCollection(db).insertMany(
      events.map((event) => ({
        _id: event.eventId,
        streamId: workflowId,
        sequence: event.sequence,
        event,
        createdAt: new Date(),
      })),
    );
    expect(await appendFollowing(db, workflowId, events, 0)).toBe(4);
    expect(await storedIds(workflowId)).toEqual(events.map((e) => e.eventId));
    expect(await markerIds(workflowId)).toEqual(events.map((e) => e.eventId));
  });

  test('cut short in the middle of its events, the next attempt stores the rest, in order, once', async () => {
    const { workflowId, events } = stream(6);
    await appendFollowing(db, workflowId, events.slice(0, 2), 0); // what the first attempt got in
    expect(await appendFollowing(db, workflowId, events, 0)).toBe(4);
    expect(await storedIds(workflowId)).toEqual(events.map((e) => e.eventId));
    expect(await domainEventCollection(db).countDocuments({ streamId: workflowId })).toBe(6);
  });

  test('beside a concurrent attempt of itself, each event is stored once', async () => {
    const { workflowId, events } = stream(8);
    const added = await Promise.all([
      appendFollowing(db, workflowId, events, 0),
      appendFollowing(db, workflowId, events, 0),
    ]);
    expect(added[0] + added[1]).toBe(8);
    expect(await storedIds(workflowId)).toEqual(events.map((e) => e.eventId));
    expect(await domainEventCollection(db).countDocuments({ streamId: workflowId })).toBe(8);
  });

  test('that does not follow `after` is refused, and nothing is written', async () => {
    const { workflowId, events } = stream(4);
    writes.length = 0;
    await expect(appendFollowing(db, workflowId, events.slice(2), 0)).rejects.toThrow(
      new StreamGapError(workflowId, 3, 0),
    );
    expect(writes).toEqual([]);
  });
});

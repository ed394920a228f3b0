import { randomUUID } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import { checkEdge, type EdgeSaga, type EventRecorder, type WebhookReceiver } from '../../scripts/lib/chaos-edge';
import { domainEventId } from '../../common/domain-events';
import { orderWorkflowId } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { domainEventCollection, type DomainEventDoc } from '../../store/domain-events';
import { webhookCollections } from '../../store/webhooks';
import { connectMongo } from '../../store/db';
import { requireEnv } from '../support/harness';

/**
 * The chaos run's checks of the event-driven edge (scripts/lib/chaos-edge.ts) see what they are meant to see: a
 * gap, a wrong last event, an event never published or published but not stored, first deliveries out of order, a
 * webhook neither delivered nor failed, a bad signature; and they pass a redelivery and a failed delivery.
 */
let mongo: MongoClient;
const dbName = `${requireEnv('MONGODB_DB')}_edgechecks_${randomUUID().slice(0, 8)}`.slice(0, 60);
beforeAll(async () => {
  mongo = (await connectMongo(requireEnv('MONGODB_URI'), dbName)).client;
});
afterAll(async () => {
  await mongo.db(dbName).dropDatabase();
  await mongo.close();
});

const event = (orderId: string, sequence: number, type: string): DomainEventDoc =>
  ({
    _id: domainEventId(orderWorkflowId(orderId), sequence),
    streamId: orderWorkflowId(orderId),
    eventId: domainEventId(orderWorkflowId(orderId), sequence),
    type,
    version: 1,
    sagaType: 'order',
    sagaId: orderId,
    sequence,
    occurredAt: new Date().toISOString(),
    data: {},
  }) as unknown as DomainEventDoc;

function recorderOf(published: [string, number, number][]): EventRecorder {
  const recorder: EventRecorder = {
    deliveries: new Map(),
    firstOrder: new Map(),
    foreign: 0,
    stop: () => Promise.resolve(),
  };
  for (const [orderId, sequence, times] of published) {
    recorder.deliveries.set(domainEventId(orderWorkflowId(orderId), sequence), times);
    recorder.firstOrder.set(orderId, [...(recorder.firstOrder.get(orderId) ?? []), sequence]);
  }
  return recorder;
}

const receiverOf = (accepted: string[], badSignatures = 0): WebhookReceiver => ({
  url: 'http://localhost/x',
  secret: 's',
  accepted: new Map(accepted.map((id) => [id, 1])),
  refused: 0,
  badSignatures,
  close: () => Promise.resolve(),
});

test('the edge checks pass a good run (a redelivery, a failed delivery) and name each kind of breakage', async () => {
  const db = mongo.db(dbName);
  const good = [event('a', 1, 'SagaStarted'), event('a', 2, 'StepCompleted'), event('a', 3, 'SagaCompleted')];
  await domainEventCollection(db).insertMany(good);
  const ids = good.map((e) => e.eventId);
  await webhookCollections(db).deliveries.insertOne({
    _id: `sub#${ids[2]}`,
    subscriptionId: 'sub',
    eventId: ids[2]!,
    eventType: 'SagaCompleted',
    body: '{}',
    status: 'failed',
    attempts: [],
    nextAttemptAt: null,
    createdAt: new Date(),
    deliveredAt: null,
  });
  const sagas: EdgeSaga[] = [{ orderId: 'a', workflowId: orderWorkflowId('a'), status: SagaStatus.COMPLETED }];
  const ok = await checkEdge(
    db,
    sagas,
    recorderOf([
      ['a', 1, 1],
      ['a', 2, 2],
      ['a', 3, 1],
    ]),
    receiverOf(ids.slice(0, 2)),
    'sub',
  );
  expect(ok.checks.filter((c) => !c.ok)).toEqual([]);
  expect({ stored: ok.eventsStored, published: ok.eventsPublished, redelivered: ok.publishDuplicates }).toEqual({
    stored: 3,
    published: 3,
    redelivered: 1,
  });

  // Saga b: a gap after 1 (3 stored), and it ends with StepCompleted though COMPENSATED.
  await domainEventCollection(db).insertMany([event('b', 1, 'SagaStarted'), event('b', 3, 'StepCompleted')]);
  sagas.push({ orderId: 'b', workflowId: orderWorkflowId('b'), status: SagaStatus.COMPENSATED });
  const broken = await checkEdge(
    db,
    sagas,
    recorderOf([
      ['a', 2, 1],
      ['a', 1, 1], // out of order
      ['a', 4, 1], // published, not stored
      ['b', 1, 1],
    ]), // a#3 never published
    receiverOf([ids[0]!], 1), // a#2 neither delivered nor failed, one bad signature
    'sub',
  );
  expect(broken.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail])).toEqual([
    [
      'events per saga complete: 1..n, SagaStarted first, the final status last',
      'b: COMPENSATED but ends with SagaStarted, 1 after a gap',
    ],
    [
      'events published = events stored (every stored event published, none not stored)',
      `not published: ${ids[2]}; not published: ${domainEventId(orderWorkflowId('b'), 3)}; ` +
        `published, not stored: ${domainEventId(orderWorkflowId('a'), 4)}`,
    ],
    ['events in order per saga (first deliveries in sequence order)', 'a: 2,1,4'],
    [
      'webhooks: every stored event delivered (deduped by event id) or recorded as failed',
      `neither delivered nor failed: ${ids[1]}; neither delivered nor failed: ${domainEventId(orderWorkflowId('b'), 1)}; ` +
        `neither delivered nor failed: ${domainEventId(orderWorkflowId('b'), 3)}`,
    ],
    ['webhooks: every signature valid', '1 bad'],
  ]);
});

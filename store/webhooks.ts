import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './duplicate-key';
import { webhookDeliveryId } from '../common/webhooks';
import type { DomainEvent } from '../common/domain-events';
import type { Webhook, WebhookDelivery, WebhookEventType } from '../common/shapes/webhooks';

/**
 * Webhook subscriptions, deliveries and the pending queue (docs/events.md, "Webhooks").
 *
 * - `webhookSubscriptions` (small: one per subscriber): the URL, the event types, the signing secret sealed
 *   (codec/secret-box.ts; never returned after creation), the status and why it was disabled.
 * - `webhookDeliveries`: one per subscription and event, `_id` `<subscriptionId>#<eventId>`, created by an insert
 *   with that unique `_id` (the one write FerretDB v1 makes safe across processes), so a fan-out run twice for one
 *   event (a redelivered broker message) creates nothing twice. It keeps the body sent and every attempt.
 * - `webhookPending` (small: only what is still to be sent): the ids of the pending deliveries and when each is due.
 *   The dispatcher scans it alone; FerretDB v1 scans a whole collection for any filter but `_id`, so the big one is
 *   only ever read by `_id` on the sending path.
 */

/** As stored: sealed by codec/secret-box.ts (`keyId`, `data`), or `plain` with PAYLOAD_ENCRYPTION=off. */
export type StoredSecret = { keyId: string; data: string } | { plain: string };

export interface WebhookSubscriptionDoc {
  _id: string;
  url: string;
  eventTypes: WebhookEventType[];
  description: string | null;
  secret: StoredSecret;
  status: 'active' | 'disabled';
  disabledReason: string | null;
  disabledAt: Date | null;
  consecutiveFailures: number;
  createdAt: Date;
}

export interface DeliveryAttemptDoc {
  attempt: number;
  at: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookDeliveryDoc {
  _id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  /** The exact body every attempt sends (and signs): the domain event as JSON. */
  body: string;
  status: WebhookDelivery['status'];
  attempts: DeliveryAttemptDoc[];
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

export interface PendingDeliveryDoc {
  _id: string;
  subscriptionId: string;
  nextAttemptAt: Date;
}

export function webhookCollections(db: Db) {
  return {
    subscriptions: db.collection<WebhookSubscriptionDoc>('webhookSubscriptions'),
    deliveries: db.collection<WebhookDeliveryDoc>('webhookDeliveries'),
    pending: db.collection<PendingDeliveryDoc>('webhookPending'),
  };
}
export type WebhookCollections = ReturnType<typeof webhookCollections>;

export async function ensureWebhookIndexes(db: Db): Promise<void> {
  // Serves the deliveries listing on a real MongoDB; FerretDB v1 scans anyway (docs/events.md).
  await webhookCollections(db).deliveries.createIndex({ subscriptionId: 1, createdAt: -1 });
}

/** Inserts `doc`; false when its `_id` was stored already. */
async function insertNew<T extends { _id: string }>(col: Collection<T>, doc: T): Promise<boolean> {
  try {
    // The driver's OptionalUnlessRequiredId cannot see that T has an _id.
    await col.insertOne(doc as Parameters<Collection<T>['insertOne']>[0]);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export function toWebhook(doc: WebhookSubscriptionDoc): Webhook {
  return {
    id: doc._id,
    url: doc.url,
    eventTypes: doc.eventTypes,
    description: doc.description,
    status: doc.status,
    disabledReason: doc.disabledReason,
    disabledAt: doc.disabledAt?.toISOString() ?? null,
    consecutiveFailures: doc.consecutiveFailures,
    createdAt: doc.createdAt.toISOString(),
  };
}

export function toDelivery(doc: WebhookDeliveryDoc): WebhookDelivery {
  return {
    id: doc._id,
    subscriptionId: doc.subscriptionId,
    eventId: doc.eventId,
    eventType: doc.eventType,
    status: doc.status,
    attempts: doc.attempts.map((a) => ({ ...a, at: a.at.toISOString() })),
    nextAttemptAt: doc.nextAttemptAt?.toISOString() ?? null,
    createdAt: doc.createdAt.toISOString(),
    deliveredAt: doc.deliveredAt?.toISOString() ?? null,
  };
}

export async function insertSubscription(cols: WebhookCollections, doc: WebhookSubscriptionDoc): Promise<void> {
  await cols.subscriptions.insertOne(doc);
}

/** Every subscription, oldest first: a small collection, read whole. */
export function listSubscriptions(cols: WebhookCollections): Promise<WebhookSubscriptionDoc[]> {
  return cols.subscriptions.find({}).sort({ createdAt: 1, _id: 1 }).toArray();
}

export function findSubscription(cols: WebhookCollections, id: string): Promise<WebhookSubscriptionDoc | null> {
  return cols.subscriptions.findOne({ _id: id });
}

/** Deletes a subscription; its pending deliveries are abandoned by the dispatcher when it next finds them. */
export async function deleteSubscription(cols: WebhookCollections, id: string): Promise<boolean> {
  return (await cols.subscriptions.deleteOne({ _id: id })).deletedCount === 1;
}

/**
 * Makes a subscription active again, its failures forgotten, and its pending deliveries due now. Null when there is
 * no such subscription.
 */
export async function enableSubscription(
  cols: WebhookCollections,
  id: string,
  now = new Date(),
): Promise<WebhookSubscriptionDoc | null> {
  const doc = await cols.subscriptions.findOneAndUpdate(
    { _id: id },
    { $set: { status: 'active', disabledReason: null, disabledAt: null, consecutiveFailures: 0 } },
    { returnDocument: 'after' },
  );
  if (doc) await cols.pending.updateMany({ subscriptionId: id }, { $set: { nextAttemptAt: now } });
  return doc;
}

/** The newest deliveries of a subscription first, at most `limit`. */
export function listDeliveries(
  cols: WebhookCollections,
  subscriptionId: string,
  limit = 100,
): Promise<WebhookDeliveryDoc[]> {
  return cols.deliveries.find({ subscriptionId }).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray();
}

/** Whether a subscription wants events of this type. */
export const wants = (sub: Pick<WebhookSubscriptionDoc, 'eventTypes'>, type: string): boolean =>
  sub.eventTypes.includes('*') || (sub.eventTypes as string[]).includes(type);

/**
 * The fan-out: one pending delivery of `event` for every active subscription that wants its type. Idempotent: a
 * delivery's `_id` is `<subscriptionId>#<eventId>` and is inserted once, so calling it again for the same event
 * (a redelivered message, a crash between two subscriptions) creates nothing twice and sends nothing twice. A
 * delivery is stored before its pending entry; one found still `pending` on a second call gets its pending entry
 * again (the first call may have stopped in between), a delivered one never does. Returns the ids of the
 * deliveries this call created.
 */
export async function fanOut(cols: WebhookCollections, event: DomainEvent, now = new Date()): Promise<string[]> {
  const created: string[] = [];
  for (const sub of await listSubscriptions(cols)) {
    if (sub.status !== 'active' || !wants(sub, event.type)) continue;
    const id = webhookDeliveryId(sub._id, event.eventId);
    const isNew = await insertNew(cols.deliveries, {
      _id: id,
      subscriptionId: sub._id,
      eventId: event.eventId,
      eventType: event.type,
      body: JSON.stringify(event),
      status: 'pending',
      attempts: [],
      nextAttemptAt: now,
      createdAt: now,
      deliveredAt: null,
    });
    if (!isNew && (await cols.deliveries.findOne({ _id: id }, { projection: { status: 1 } }))?.status !== 'pending') {
      continue;
    }
    await insertNew(cols.pending, { _id: id, subscriptionId: sub._id, nextAttemptAt: now });
    if (isNew) created.push(id);
  }
  return created;
}

/** The pending deliveries due at `now`, soonest first (the small collection, read whole). */
export function duePending(cols: WebhookCollections, now = new Date()): Promise<PendingDeliveryDoc[]> {
  return cols.pending
    .find({ nextAttemptAt: { $lte: now } })
    .sort({ nextAttemptAt: 1 })
    .toArray();
}

export function findDelivery(cols: WebhookCollections, id: string): Promise<WebhookDeliveryDoc | null> {
  return cols.deliveries.findOne({ _id: id });
}

/**
 * Records an attempt and what follows: `next` a date to try again then, or the delivery's final status. The
 * delivery is written first and its pending entry after, so a crash in between leaves a pending entry whose
 * delivery is final, which the dispatcher then just removes (docs/events.md: at least once).
 */
export async function recordAttempt(
  cols: WebhookCollections,
  id: string,
  attempt: DeliveryAttemptDoc,
  next: { retryAt: Date } | { status: 'delivered' | 'failed' },
): Promise<void> {
  const set =
    'retryAt' in next
      ? { nextAttemptAt: next.retryAt }
      : {
          status: next.status,
          nextAttemptAt: null,
          ...(next.status === 'delivered' ? { deliveredAt: attempt.at } : {}),
        };
  await cols.deliveries.updateOne({ _id: id }, { $push: { attempts: attempt }, $set: set });
  if ('retryAt' in next) await cols.pending.updateOne({ _id: id }, { $set: { nextAttemptAt: next.retryAt } });
  else await cols.pending.deleteOne({ _id: id });
}

/** Ends a delivery without an attempt (its subscription is gone), or drops a pending entry already final. */
export async function settleWithoutAttempt(
  cols: WebhookCollections,
  id: string,
  status: 'abandoned' | undefined,
): Promise<void> {
  if (status) await cols.deliveries.updateOne({ _id: id }, { $set: { status, nextAttemptAt: null } });
  await cols.pending.deleteOne({ _id: id });
}

/** After a successful attempt: the subscription's failures in a row start again from 0. */
export async function recordSubscriptionSuccess(cols: WebhookCollections, id: string): Promise<void> {
  await cols.subscriptions.updateOne(
    { _id: id, consecutiveFailures: { $ne: 0 } },
    { $set: { consecutiveFailures: 0 } },
  );
}

/** After a failed attempt: one more failure in a row, and the subscription disabled with `disable` as the reason. */
export async function recordSubscriptionFailure(
  cols: WebhookCollections,
  id: string,
  consecutiveFailures: number,
  disable: string | undefined,
  now = new Date(),
): Promise<void> {
  await cols.subscriptions.updateOne(
    { _id: id },
    {
      $set: {
        consecutiveFailures,
        ...(disable ? { status: 'disabled' as const, disabledReason: disable, disabledAt: now } : {}),
      },
    },
  );
}

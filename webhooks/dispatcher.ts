import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { SecretBox } from '../codec/secret-box';
import type { DomainEvent } from '../common/domain-events';
import {
  DELIVERY_ATTEMPT_HEADER,
  DELIVERY_ID_HEADER,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
} from '../common/webhooks';
import {
  duePending,
  ensureWebhookIndexes,
  fanOut,
  findDelivery,
  findSubscription,
  recordAttempt,
  recordSubscriptionFailure,
  recordSubscriptionSuccess,
  settleWithoutAttempt,
  webhookCollections,
  type WebhookCollections,
  type WebhookDeliveryDoc,
  type WebhookSubscriptionDoc,
} from '../store/webhooks';
import { secretPurpose } from '../common/webhooks';
import { sendWebhook, type AttemptOutcome } from './sender';

export interface RetrySchedule {
  /** The delay after the first failed attempt; each next one doubles. */
  baseMs: number;
  /** No delay is longer. */
  maxDelayMs: number;
  /** A delivery not delivered this long after it was created fails, and its subscription is disabled. */
  horizonMs: number;
}

/**
 * The delay before attempt `failedAttempt + 1`: exponential (`baseMs · 2^(failedAttempt-1)`, at most `maxDelayMs`)
 * with "equal jitter" (a random point in its upper half), so that the retries of many deliveries that failed
 * together (a receiver that was down) spread out instead of arriving together again.
 */
export function retryDelayMs(failedAttempt: number, schedule: RetrySchedule, random = Math.random): number {
  const exp = Math.min(schedule.maxDelayMs, schedule.baseMs * 2 ** Math.min(failedAttempt - 1, 40));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export interface DispatcherOptions {
  db: Db;
  /** Opens the subscriptions' sealed secrets (codec/secret-box.ts, with the payload key ring). */
  secrets: SecretBox;
  logger: Logger;
  schedule: RetrySchedule;
  /** Longest one attempt may take. */
  timeoutMs: number;
  /** Failed attempts in a row after which a subscription is disabled. */
  disableAfterFailures: number;
  /** How often pending deliveries are looked at. */
  pollMs: number;
  /** Attempts in flight at once (default 8). */
  concurrency?: number;
}

export interface Dispatcher {
  /** Stores a pending delivery of `event` for every subscription that wants it (idempotent), and sends them soon. */
  fanOut(event: DomainEvent): Promise<string[]>;
  /** Stops looking for due deliveries and waits for the attempts in flight. */
  stop(): Promise<void>;
}

/**
 * The webhook dispatcher (docs/events.md, "Webhooks"): every `pollMs` it reads the due entries of the small
 * `webhookPending` collection and sends each delivery (signed, with the address guard), records the attempt, and
 * schedules the next one with backoff, or ends the delivery (delivered on a 2xx; failed past the retry horizon).
 * A subscription's failures in a row are counted, and it is disabled, with the reason, after
 * `disableAfterFailures` of them or when one of its deliveries fails; a disabled subscription's pending deliveries
 * wait (they resume when it is enabled again), and new events create none for it.
 *
 * One dispatcher per database: FerretDB v1 has no atomic conditional update with which two could claim a delivery
 * between them, so one process sends (it serializes the updates of each subscription itself). Delivery is at least
 * once: a crash after a receiver's 2xx and before it is recorded sends that delivery again.
 */
export async function startDispatcher(options: DispatcherOptions): Promise<Dispatcher> {
  const { db, secrets, logger, schedule, timeoutMs, disableAfterFailures, pollMs, concurrency = 8 } = options;
  const cols = webhookCollections(db);
  await ensureWebhookIndexes(db);
  const inFlight = new Map<string, Promise<void>>();
  const perSubscription = new Map<string, Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;

  /** Runs `fn` after every earlier update of the same subscription (read-modify-writes, one at a time). */
  const serially = (id: string, fn: () => Promise<void>): Promise<void> => {
    const next = (perSubscription.get(id) ?? Promise.resolve()).then(fn, fn);
    perSubscription.set(id, next);
    void next.finally(() => perSubscription.get(id) === next && perSubscription.delete(id)).catch(() => undefined);
    return next;
  };

  const attempt = async (id: string): Promise<void> => {
    const delivery = await findDelivery(cols, id);
    if (!delivery || delivery.status !== 'pending') return settleWithoutAttempt(cols, id, undefined);
    const sub = await findSubscription(cols, delivery.subscriptionId);
    if (!sub) {
      logger.info({ deliveryId: id }, 'webhook delivery abandoned: its subscription was deleted');
      return settleWithoutAttempt(cols, id, 'abandoned');
    }
    if (sub.status !== 'active') {
      // Paused until the subscription is enabled again (which makes it due at once).
      await cols.pending.updateOne(
        { _id: id },
        { $set: { nextAttemptAt: new Date(Date.now() + schedule.maxDelayMs) } },
      );
      return;
    }
    await send(delivery, sub);
  };

  /** One signed POST; a secret that cannot be opened (its key taken out of PAYLOAD_KEYS) is a failed attempt too. */
  const attemptWith = async (
    sub: WebhookSubscriptionDoc,
    delivery: WebhookDeliveryDoc,
    number: number,
  ): Promise<AttemptOutcome> => {
    let secret: string;
    try {
      secret = secrets.open(sub.secret, secretPurpose(sub._id));
    } catch (err) {
      return {
        statusCode: null,
        error: `the signing secret cannot be opened: ${(err as Error).message}`,
        durationMs: 0,
      };
    }
    return sendWebhook({
      url: sub.url,
      body: delivery.body,
      timeoutMs,
      headers: {
        [SIGNATURE_HEADER]: signWebhook(secret, delivery.body, Math.floor(Date.now() / 1000)),
        [EVENT_ID_HEADER]: delivery.eventId,
        [EVENT_TYPE_HEADER]: delivery.eventType,
        [DELIVERY_ID_HEADER]: delivery._id,
        [DELIVERY_ATTEMPT_HEADER]: String(number),
      },
    });
  };

  const send = async (delivery: WebhookDeliveryDoc, sub: WebhookSubscriptionDoc): Promise<void> => {
    const number = delivery.attempts.length + 1;
    const at = new Date();
    const outcome = await attemptWith(sub, delivery, number);
    const record = { attempt: number, at, ...outcome };
    const log = { deliveryId: delivery._id, subscriptionId: sub._id, attempt: number, ...outcome };
    if (outcome.error === null) {
      await recordAttempt(cols, delivery._id, record, { status: 'delivered' });
      await serially(sub._id, () => recordSubscriptionSuccess(cols, sub._id));
      logger.debug(log, 'webhook delivered');
      return;
    }
    const retryAt = new Date(Date.now() + retryDelayMs(number, schedule));
    const gaveUp = retryAt.getTime() > delivery.createdAt.getTime() + schedule.horizonMs;
    await recordAttempt(cols, delivery._id, record, gaveUp ? { status: 'failed' } : { retryAt });
    logger.warn(
      { ...log, ...(gaveUp ? {} : { retryAt }) },
      gaveUp ? 'webhook delivery failed' : 'webhook attempt failed',
    );
    await serially(sub._id, async () => {
      const current = await findSubscription(cols, sub._id);
      if (!current) return;
      const failures = current.consecutiveFailures + 1;
      let reason: string | undefined;
      if (current.status === 'active' && gaveUp) {
        reason =
          `delivery of event ${delivery.eventId} failed: ${number} attempts over ` +
          `${Math.round((Date.now() - delivery.createdAt.getTime()) / 1000)} s; the last: ${outcome.error}`;
      } else if (current.status === 'active' && failures >= disableAfterFailures) {
        reason = `${failures} failed attempts in a row; the last: ${outcome.error}`;
      }
      await recordSubscriptionFailure(cols, sub._id, failures, reason);
      if (reason) logger.warn({ subscriptionId: sub._id, reason }, 'webhook subscription disabled');
    });
  };

  const tick = async (): Promise<void> => {
    const due = await duePending(cols);
    for (const { _id: id } of due) {
      if (inFlight.size >= concurrency) break;
      if (inFlight.has(id)) continue;
      const running = attempt(id)
        .catch((err: unknown) => logger.error({ err, deliveryId: id }, 'webhook delivery attempt failed to run'))
        .finally(() => inFlight.delete(id));
      inFlight.set(id, running);
    }
  };

  const loop = () => {
    if (stopped) return;
    ticking = tick()
      .catch((err: unknown) => logger.error({ err }, 'reading due webhook deliveries failed'))
      .finally(() => {
        ticking = undefined;
        if (!stopped) timer = setTimeout(loop, pollMs);
      });
  };
  loop();

  return {
    async fanOut(event) {
      return fanOut(cols, event);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await ticking;
      await Promise.all([...inFlight.values()]);
      await Promise.all([...perSubscription.values()].map((p) => p.catch(() => undefined)));
    },
  };
}

export type { WebhookCollections };

/**
 * The outbox relay (docs/events.md, "Broker"): publishes every saga's domain events to the topic exchange
 * `saga.events`, at least once and in order per saga, from the outbox markers the append leaves (store/outbox.ts).
 *
 *   scan the outbox (by stream, then sequence; each marker carries its event) ─▶ per stream: the events up to the
 *   last one already stored in `domainEvents` (one read by id; the rest of that stream waits, the others go on)
 *   ─▶ publish them all on the confirm channel
 *   ─▶ wait for the broker's confirms ─▶ delete their markers ─▶ again at once while there is work, else after
 *   RELAY_POLL_MS
 *
 * A crash or a lost connection before the deletes leaves the markers: the next round publishes those events again,
 * with the same message ids (consumers dedupe by it), from each stream's first outstanding event, so a saga's
 * events always reach the exchange first in their order. Only one relay publishes at a time (relay-lease.ts).
 */
import type { ConfirmChannel } from 'amqplib';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { abortableSleep } from './abortable-sleep';
import type { DomainEvent } from '../common/domain-events';
import { ORDER_SAGA } from '../common/order';
import { TRANSPORT_ORDER } from '../common/transport';
import { ORDER_FULFILMENT } from '../common/order-fulfilment';
import { eventStored } from '../store/domain-events';
import {
  countOutboxMarkers,
  deleteOutboxMarkers,
  outboxMarkerExists,
  readOutboxMarkers,
  type OutboxMarkerDoc,
} from '../store/outbox';
import type { Broker } from './connection';
import { acquireRelayLease, RelayLeaseLost, type RelayLease } from './relay-lease';
import type { RelayErrorKind, RelayMetrics } from './relay-metrics';
import { messagePropertiesOf, routingKeyOf, SAGA_EVENTS_EXCHANGE } from './topology';

export interface OutboxRelayOptions {
  db: Db;
  broker: Broker;
  logger: Logger;
  metrics: RelayMetrics;
  /** Wait between two scans of an empty outbox (RELAY_POLL_MS). */
  pollMs: number;
  /** Markers per scan (RELAY_BATCH_SIZE). */
  batchSize: number;
  /** The lease's time to live: a relay that stopped renewing is taken over after this long (default 10 s). */
  leaseTtlMs?: number;
}

/** What one round did. */
export interface RoundResult {
  published: number;
  /** Streams whose next event is not stored yet (its marker was, a moment before). */
  waiting: number;
  /** Where the round's time went, ms: the outbox scan, the checks that the events are stored, publish and
   * confirms, the deletes. */
  phasesMs: { scan: number; read: number; publish: number; delete: number };
}

/** The workflow type by the event's saga type: the logs' `sagaType` is the workflow type (common/saga-log.ts). */
const workflowTypeOf: Record<DomainEvent['sagaType'], string> = {
  order: ORDER_SAGA,
  'transport-order': TRANSPORT_ORDER,
  'order-fulfilment': ORDER_FULFILMENT,
};

/** Streams whose last confirmed sequence this relay remembers (enough for the markers of appends that overlapped). */
const REMEMBERED_STREAMS = 10_000;
/** MongoDB reads in flight at once (the driver's pool holds 20 connections). */
const READ_CONCURRENCY = 16;

export interface OutboxRelay {
  /** Publishes until `signal` aborts (finishing the round in progress), holding the lease while it does. */
  run(signal: AbortSignal): Promise<void>;
  /** One round, without the lease (tests and the benchmark; `run` checks the lease before each). */
  publishOnce(): Promise<RoundResult>;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, broker, logger, metrics, pollMs, batchSize } = options;
  const leaseTtlMs = options.leaseTtlMs ?? 10_000;
  /** streamId -> the last sequence the broker confirmed, newest streams last. */
  const confirmed = new Map<string, number>();
  metrics.setBacklogSource(() => countOutboxMarkers(db));

  function remember(streamId: string, sequence: number): void {
    confirmed.delete(streamId);
    confirmed.set(streamId, sequence);
    if (confirmed.size > REMEMBERED_STREAMS) confirmed.delete(confirmed.keys().next().value!);
  }

  /**
   * The events of one stream's markers to publish now, in order, and the markers that are stale (published already:
   * the marker of an append that overlapped another, made again after its delete). The events come from the
   * markers; only whether they are stored is read, by `_id`, from the last one back: events are stored in sequence
   * order, so once one is, every one before it is. Those after the last one stored wait (their append is about to
   * store them). A stream whose earlier marker exists but was not in the scan (a scan that is not a snapshot) waits.
   */
  async function planStream(streamId: string, markers: OutboxMarkerDoc[]) {
    const last = confirmed.get(streamId);
    const stale = markers.filter((m) => last !== undefined && m.sequence <= last);
    let fresh = markers.filter((m) => !stale.includes(m));
    const first = fresh[0];
    if (first === undefined) return { events: [], stale, waiting: false };
    if (first.sequence > 1 && last !== first.sequence - 1) {
      if (await outboxMarkerExists(db, streamId, first.sequence - 1)) return { events: [], stale, waiting: true };
    }
    const all = fresh.length;
    while (fresh.length > 0 && !(await eventStored(db, fresh[fresh.length - 1]!._id))) fresh = fresh.slice(0, -1);
    return { events: fresh.map((m) => m.event), stale, waiting: fresh.length < all };
  }

  async function publish(channel: ConfirmChannel, events: DomainEvent[]): Promise<void> {
    for (const event of events) {
      const body = Buffer.from(JSON.stringify(event));
      const ok = channel.publish(SAGA_EVENTS_EXCHANGE, routingKeyOf(event), body, messagePropertiesOf(event));
      if (!ok) {
        await new Promise<void>((resolve, reject) => {
          const onClose = () => reject(new Error('channel closed'));
          channel.once('drain', () => {
            channel.removeListener('close', onClose);
            resolve();
          });
          channel.once('close', onClose);
        });
      }
    }
    await channel.waitForConfirms();
  }

  async function publishOnce(): Promise<RoundResult> {
    const t0 = performance.now();
    const markers = await readOutboxMarkers(db, batchSize);
    const t1 = performance.now();
    if (markers.length === 0)
      return { published: 0, waiting: 0, phasesMs: { scan: t1 - t0, read: 0, publish: 0, delete: 0 } };
    const end = metrics.batchSeconds.startTimer();
    const byStream = new Map<string, OutboxMarkerDoc[]>();
    for (const marker of markers) {
      const list = byStream.get(marker.streamId) ?? [];
      list.push(marker);
      byStream.set(marker.streamId, list);
    }
    const plans = await mapLimit([...byStream.entries()], READ_CONCURRENCY, ([streamId, list]) =>
      planStream(streamId, list),
    );
    const events = plans.flatMap((p) => p.events);
    const stale = plans.flatMap((p) => p.stale.map((m) => m._id));
    const waiting = plans.filter((p) => p.waiting).length;
    const t2 = performance.now();
    if (events.length > 0) {
      const channel = await broker.channel();
      await publish(channel, events).catch((err: unknown) => {
        throw Object.assign(err instanceof Error ? err : new Error(String(err)), { relayKind: 'broker' });
      });
      for (const event of events) {
        metrics.published.inc({ saga_type: event.sagaType });
        remember(streamIdOf(event), event.sequence);
        logger.debug(
          {
            sagaType: workflowTypeOf[event.sagaType],
            sagaId: event.sagaId,
            workflowId: streamIdOf(event),
            eventId: event.eventId,
            eventType: event.type,
            sequence: event.sequence,
          },
          `Published ${event.type} of ${event.sagaType} ${event.sagaId}`,
        );
      }
    }
    const t3 = performance.now();
    await deleteOutboxMarkers(db, [...events.map((e) => e.eventId), ...stale]);
    const t4 = performance.now();
    if (events.length > 0) end();
    const phasesMs = { scan: t1 - t0, read: t2 - t1, publish: t3 - t2, delete: t4 - t3 };
    return { published: events.length, waiting, phasesMs };
  }

  async function run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const lease: RelayLease | undefined = await acquireRelayLease({ db, logger, ttlMs: leaseTtlMs, signal }).catch(
        (err: unknown) => {
          countError('mongodb', err, failures++);
          return undefined;
        },
      );
      if (!lease) {
        if (!signal.aborted) await abortableSleep(backoffMs(failures), signal);
        continue;
      }
      metrics.leaseHeld.set(1);
      try {
        while (!signal.aborted) {
          let result: RoundResult;
          try {
            await lease.assertHeld();
            result = await publishOnce();
            failures = 0;
          } catch (err) {
            if (err instanceof RelayLeaseLost) throw err;
            countError(kindOf(err), err, failures++);
            await abortableSleep(backoffMs(failures), signal);
            continue;
          }
          // At once while there is work; a stream waiting for its append (a few ms) is polled a little sooner.
          if (result.published === 0) await abortableSleep(result.waiting > 0 ? Math.min(pollMs, 20) : pollMs, signal);
        }
      } catch (err) {
        countError('lease', err, 0);
        logger.warn({ err, epoch: lease.epoch }, 'Relay lease lost: standing by');
      } finally {
        metrics.leaseHeld.set(0);
        await lease.release();
      }
    }
  }

  function countError(kind: RelayErrorKind, err: unknown, attempt: number): void {
    metrics.errors.inc({ kind });
    if (kind === 'lease') return;
    // A broker restart or a MongoDB failover is routine: the first failures at warn, lasting ones at error.
    logger[attempt < 5 ? 'warn' : 'error'](
      { err, kind, attempt: attempt + 1 },
      `Relay round failed (${kind}): retrying with backoff; nothing is lost, the outbox keeps the events`,
    );
  }

  return { run, publishOnce };
}

/** `fn` over `items` with at most `limit` calls in flight; results in the items' order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function kindOf(err: unknown): RelayErrorKind {
  return (err as { relayKind?: RelayErrorKind }).relayKind ?? 'mongodb';
}

/** The workflow id of an event's stream: its id without `#<sequence>`. */
function streamIdOf(event: DomainEvent): string {
  return event.eventId.slice(0, event.eventId.lastIndexOf('#'));
}

/** 100 ms doubling to 5 s, with jitter. */
function backoffMs(failures: number): number {
  const base = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

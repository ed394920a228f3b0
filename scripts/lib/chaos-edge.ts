/**
 * The event-driven edge in the chaos run (issue 14, "Faults"): a consumer of `saga.events` that records every
 * message, a webhook receiver that records every delivery, and the checks of both against the stored streams.
 *
 * Definitions (docs/faults.md, "The event-driven edge"):
 * - *complete*: a saga's stored stream is sequences 1..n without a gap, starts with `SagaStarted` and ends with the
 *   event of its final status (COMPLETED → SagaCompleted, COMPENSATED → SagaCompensated, FAILED → WaitingForOperator).
 * - *published = stored*: every stored event reached the exchange at least once (by unique message id = event id),
 *   and no message names an event that is not stored. Redeliveries (the same message id again: the relay publishes
 *   at least once) are counted, not failed.
 * - *in order*: per saga, the first delivery of each event arrives in sequence order (redeliveries may come late).
 * - *webhooks*: for the subscription and every stored event, the receiver saw it (distinct by event id, signature
 *   valid) or the store records its delivery as failed/abandoned; raw duplicates are counted separately.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from 'mongodb';
import { connectBroker, type Broker } from '../../broker/connection';
import { SAGA_EVENTS_EXCHANGE } from '../../broker/topology';
import { DomainEventType, type DomainEvent } from '../../common/domain-events';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, verifyWebhook } from '../../common/webhooks';
import { SagaStatus } from '../../common/saga-state';
import { domainEventCollection, readStream } from '../../store/domain-events';
import { webhookCollections } from '../../store/webhooks';
import type { InvariantCheck } from './invariants';

const silent = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
  fatal: () => undefined,
  child() {
    return silent;
  },
} as unknown as Parameters<typeof connectBroker>[0]['logger'];

export interface EventRecorder {
  /** Deliveries per event id (every message, redeliveries included). */
  deliveries: Map<string, number>;
  /** Per saga (business id), the sequences in the order of their first delivery. */
  firstOrder: Map<string, number[]>;
  /** Messages that were not domain events of this run's sagas (other runs on a shared broker): ignored. */
  foreign: number;
  stop(): Promise<void>;
}

/**
 * Declares `queue` (durable) bound to `saga.events` with `#` and records every message of the sagas `ours` accepts;
 * acknowledges each once recorded. Resolves once the queue is bound: call it before the first saga starts. On a
 * broker restart it reconnects and consumes again (the queue and the unacknowledged messages survive).
 */
export async function startEventRecorder(
  amqpUrl: string,
  queue: string,
  ours: (sagaId: string) => boolean,
): Promise<EventRecorder> {
  const recorder = { deliveries: new Map<string, number>(), firstOrder: new Map<string, number[]>(), foreign: 0 };
  const broker: Broker = await connectBroker({ url: amqpUrl, logger: silent, connectionName: 'chaos-recorder' });
  await broker.addSetup(async (channel) => {
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, SAGA_EVENTS_EXCHANGE, '#');
    await channel.prefetch(100);
    await channel.consume(queue, (message) => {
      if (!message) return;
      let event: DomainEvent | undefined;
      try {
        event = JSON.parse(message.content.toString('utf8')) as DomainEvent;
      } catch {
        event = undefined;
      }
      if (!event || typeof event.sagaId !== 'string' || !ours(event.sagaId)) {
        recorder.foreign++;
      } else {
        const id = String(message.properties.messageId ?? event.eventId);
        const seen = recorder.deliveries.get(id) ?? 0;
        recorder.deliveries.set(id, seen + 1);
        if (seen === 0) {
          const order = recorder.firstOrder.get(event.sagaId) ?? [];
          order.push(event.sequence);
          recorder.firstOrder.set(event.sagaId, order);
        }
      }
      try {
        channel.ack(message);
      } catch {
        // the channel closed (broker restarting): the message comes again and counts as a redelivery
      }
    });
  });
  return {
    ...recorder,
    get foreign() {
      return recorder.foreign;
    },
    async stop() {
      const channel = await broker.channel().catch(() => undefined);
      await channel?.deleteQueue(queue).catch(() => undefined);
      await broker.close();
    },
  };
}

export interface WebhookReceiver {
  url: string;
  /** The subscription's signing secret (shown once by POST /webhooks). */
  secret: string;
  /** Accepted (2xx) deliveries per event id. */
  accepted: Map<string, number>;
  /** Requests answered 500 on purpose (the dispatcher retries them). */
  refused: number;
  /** Requests whose signature did not verify (answered 400; must stay 0). */
  badSignatures: number;
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 (reached as `localhost`) that answers 500 to a share `errorRate` of requests. */
export async function startWebhookReceiver(errorRate: number, rnd: () => number): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    secret: '',
    accepted: new Map(),
    refused: 0,
    badSignatures: 0,
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const check = verifyWebhook(receiver.secret, body, Array.isArray(header) ? header[0] : header);
      if (!check.ok) {
        receiver.badSignatures++;
        res.writeHead(400).end(check.reason);
        return;
      }
      if (rnd() < errorRate) {
        receiver.refused++;
        res.writeHead(500).end('chaos: try again');
        return;
      }
      const eventId = String(req.headers[EVENT_ID_HEADER.toLowerCase()] ?? '');
      receiver.accepted.set(eventId, (receiver.accepted.get(eventId) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  receiver.url = `http://localhost:${(server.address() as AddressInfo).port}/chaos-hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}

/** The final event a saga's stream must end with, by its final status. */
const finalEventOf: Partial<Record<SagaStatus, string>> = {
  [SagaStatus.COMPLETED]: DomainEventType.SagaCompleted,
  [SagaStatus.COMPENSATED]: DomainEventType.SagaCompensated,
  [SagaStatus.FAILED]: DomainEventType.WaitingForOperator,
};

export interface EdgeSaga {
  orderId: string;
  workflowId: string;
  status: SagaStatus | null;
}

export interface EdgeReport {
  checks: InvariantCheck[];
  eventsStored: number;
  eventsPublished: number;
  /** Deliveries beyond the first of an event on saga.events (at-least-once redeliveries). */
  publishDuplicates: number;
  /** Sagas whose first deliveries were out of sequence order. */
  outOfOrder: number;
  webhooksDelivered: number;
  webhooksFailed: number;
  webhookDuplicates: number;
  webhookRefusals: number;
}

/** Checks the streams, the broker's record and the webhook receiver's record (see the file's head). */
export async function checkEdge(
  db: Db,
  sagas: EdgeSaga[],
  recorder: EventRecorder,
  receiver: WebhookReceiver,
  subscriptionId: string,
): Promise<EdgeReport> {
  const checks: InvariantCheck[] = [];
  const check = (name: string, bad: string[]) =>
    checks.push({ name, ok: bad.length === 0, detail: bad.slice(0, 5).join('; ') + (bad.length > 5 ? ' …' : '') });
  const stored = new Set<string>();
  const incomplete: string[] = [];
  for (const saga of sagas) {
    const stream = await readStream(db, saga.workflowId);
    // readStream stops before the first missing sequence: every stored event of the stream, to see one past a gap.
    const all = await domainEventCollection(db)
      .find({ streamId: saga.workflowId }, { projection: { _id: 1 } })
      .toArray();
    for (const e of all) stored.add(e._id);
    const problems: string[] = [];
    if (stream.length === 0) problems.push('no events');
    else {
      if (stream[0]!.type !== DomainEventType.SagaStarted) problems.push(`starts with ${stream[0]!.type}`);
      const final = saga.status ? finalEventOf[saga.status] : undefined;
      if (final && stream.at(-1)!.type !== final) problems.push(`${saga.status} but ends with ${stream.at(-1)!.type}`);
    }
    if (all.length > stream.length) problems.push(`${all.length - stream.length} after a gap`);
    if (problems.length) incomplete.push(`${saga.orderId}: ${problems.join(', ')}`);
  }
  check('events per saga complete: 1..n, SagaStarted first, the final status last', incomplete);

  const published = [...recorder.deliveries.keys()];
  check('events published = events stored (every stored event published, none not stored)', [
    ...[...stored].filter((id) => !recorder.deliveries.has(id)).map((id) => `not published: ${id}`),
    ...published.filter((id) => !stored.has(id)).map((id) => `published, not stored: ${id}`),
  ]);
  const disordered = [...recorder.firstOrder.entries()].filter(([, seqs]) => seqs.some((s, i) => s !== i + 1));
  check(
    'events in order per saga (first deliveries in sequence order)',
    disordered.map(([id, seqs]) => `${id}: ${seqs.join(',')}`),
  );

  const { deliveries } = webhookCollections(db);
  const docs = await deliveries.find({ subscriptionId }).toArray();
  const failed = new Set(docs.filter((d) => d.status === 'failed' || d.status === 'abandoned').map((d) => d.eventId));
  const missing = [...stored].filter((id) => !receiver.accepted.has(id) && !failed.has(id));
  const strange = [...receiver.accepted.keys()].filter((id) => !stored.has(id));
  check('webhooks: every stored event delivered (deduped by event id) or recorded as failed', [
    ...missing.map((id) => `neither delivered nor failed: ${id}`),
    ...strange.map((id) => `delivered, not stored: ${id}`),
  ]);
  check('webhooks: every signature valid', receiver.badSignatures ? [`${receiver.badSignatures} bad`] : []);

  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    checks,
    eventsStored: stored.size,
    eventsPublished: published.length,
    publishDuplicates: sum(recorder.deliveries) - recorder.deliveries.size,
    outOfOrder: disordered.length,
    webhooksDelivered: receiver.accepted.size,
    webhooksFailed: failed.size,
    webhookDuplicates: sum(receiver.accepted) - receiver.accepted.size,
    webhookRefusals: receiver.refused,
  };
}

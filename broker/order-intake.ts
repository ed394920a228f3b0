/**
 * The order intake (docs/api.md, "Starting a saga by a message"): order sagas started by `OrderPlaced` messages.
 *
 *   other services ──▶ exchange saga.intake (topic, durable)
 *                        │ routing key order.OrderPlaced
 *                        ▼
 *                      queue orders.placed (durable) ──▶ intake: parse, validate, start ──▶ Temporal
 *                        (prefetch, manual ack)             │ malformed / refused
 *                                                           ▼
 *                                                         queue orders.placed.dlq (x-rejection-reason, …-detail)
 *
 * A message's body is the body of `POST /orders` with `orderId` required (it names the saga: `order-<orderId>`),
 * validated by the same schema (common/shapes/order.ts `OrderSagaInput`, which the API's `CreateOrder` extends).
 * With `saga` (ORDER_INTAKE_SAGA_TYPE) the intake starts another saga of `intakeSagas` instead: it binds
 * `<sagaType>.OrderPlaced` and validates by that saga's own input schema (`order-fulfilment`: `OrderFulfilmentInput`,
 * workflow id `fulfilment-<orderId>`).
 *
 * - **Started, or already started by this very message** (a redelivery): acknowledged, only once the start call
 *   returned, so that the start is durable in Temporal before the message is gone. A consumer that dies between
 *   the two leaves the message unacknowledged: RabbitMQ delivers it again and the start is recognised (`duplicate`).
 * - **Malformed or refused** (a business outcome, never retried): republished, body and properties unchanged, to the
 *   dead-letter queue with headers naming the reason, confirmed by the broker, then acknowledged.
 * - **Anything else** (Temporal or MongoDB unreachable, the dead-letter publish failing): held for a backoff that
 *   grows with each failure in a row (1 s doubling up to 30 s, jittered), then rejected with requeue, so it is
 *   delivered again; never dead-lettered. With at most `prefetch` messages held, an outage does not spin.
 *
 * Log lines carry the saga's ids and the message id, never the body (payment token, address).
 */
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { fieldErrors } from '../common/field-errors';
import type { z } from 'zod';
import { ORDER_SAGA, orderWorkflowId } from '../common/order';
import { ORDER_FULFILMENT, fulfilmentWorkflowId } from '../common/order-fulfilment';
import { Id } from '../common/shapes/primitives';
import { OrderSagaInput } from '../common/shapes/order';
import { OrderFulfilmentInput } from '../common/shapes/order-fulfilment';
import type { Broker } from './connection';

/** The durable topic exchange other services publish saga-starting messages to. Not `saga.events` (what sagas emit). */
export const ORDER_INTAKE_EXCHANGE = 'saga.intake';
/** `<sagaType>.<message>`, as on `saga.events`: the key the intake's queue is bound with. */
export const ORDER_PLACED_ROUTING_KEY = 'order.OrderPlaced';
/** `<sagaType>.OrderPlaced`: the routing key of the messages that start a saga of that type. */
export const orderPlacedRoutingKey = (sagaType: string): string => `${sagaType}.OrderPlaced`;

/** A saga an `OrderPlaced` message can start: its input's schema and how its logs name it. */
export interface IntakeSaga {
  /** The saga type: the routing key is `<sagaType>.OrderPlaced`. */
  sagaType: string;
  workflowType: string;
  workflowId: (orderId: string) => string;
  /** The saga's own input schema: what a message's body must be. */
  input: z.ZodType<IntakeInput>;
}

/** What every saga an intake starts takes: an order id (naming the saga) and its customer. */
export interface IntakeInput {
  orderId: string;
  customerId: string;
}

/** The sagas an `OrderPlaced` message can start (ORDER_INTAKE_SAGA_TYPE). */
export const intakeSagas = {
  order: { sagaType: 'order', workflowType: ORDER_SAGA, workflowId: orderWorkflowId, input: OrderSagaInput },
  'order-fulfilment': {
    sagaType: 'order-fulfilment',
    workflowType: ORDER_FULFILMENT,
    workflowId: fulfilmentWorkflowId,
    input: OrderFulfilmentInput,
  },
} as const satisfies Record<string, IntakeSaga>;
export type IntakeSagaType = keyof typeof intakeSagas;

/** Where rejected messages go: `<queue>.dlq`, durable, reached through the default exchange. */
export const deadLetterQueueOf = (queue: string): string => `${queue}.dlq`;

/** Why a message was dead-lettered: its `x-rejection-reason` header and the metric's `reason` label. */
export const RejectionReason = {
  /** Not UTF-8 JSON, or a content type / encoding that is not JSON (POST /orders: 400, 415). */
  notJson: 'not-json',
  /** Larger than BODY_LIMIT (POST /orders: 413). */
  tooLarge: 'too-large',
  /** JSON that fails the order schema; the detail names each field (POST /orders: 400). */
  invalidOrder: 'invalid-order',
  /** `customerId` names no customer (POST /orders: 422). */
  unknownCustomer: 'unknown-customer',
  /** The order id names a saga that a request or another message (another body) started (POST /orders: 409). */
  orderIdConflict: 'order-id-conflict',
} as const;
export type RejectionReason = (typeof RejectionReason)[keyof typeof RejectionReason];

/**
 * A start refused for a business reason: the message is dead-lettered with it, never retried. Thrown by the
 * `StartOrder` the composition root gives the intake.
 */
export class StartRefused extends Error {
  override name = 'StartRefused';
  constructor(
    readonly reason: typeof RejectionReason.unknownCustomer | typeof RejectionReason.orderIdConflict,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/**
 * Starts the order saga of a valid message, idempotently: `started` once Temporal has recorded the start,
 * `duplicate` when this message's saga was already started (a redelivery, or the same message published twice).
 * Throws `StartRefused` for a business refusal; any other error is an infrastructure failure (requeued).
 */
export type StartOrder = (input: OrderSagaInput) => Promise<'started' | 'duplicate'>;

/** What happened to a message: `order_intake_messages_total{outcome}`. */
export type IntakeOutcome = 'started' | 'duplicate' | 'dead_lettered' | 'requeued';

/** The intake's Prometheus metrics (docs/operations.md). */
export interface OrderIntakeMetrics {
  messages: Counter<'outcome'>;
  deadLettered: Counter<'reason'>;
}

export function createOrderIntakeMetrics(registry: Registry): OrderIntakeMetrics {
  const messages = new Counter({
    name: 'order_intake_messages_total',
    help: 'OrderPlaced messages settled, by outcome: started, duplicate (already started), dead_lettered, requeued',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const deadLettered = new Counter({
    name: 'order_intake_dead_lettered_total',
    help: 'OrderPlaced messages sent to the dead-letter queue, by reason (the x-rejection-reason header)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // Every series from the start, at 0: a rate() over a series that appears with its first increment misses it.
  for (const outcome of ['started', 'duplicate', 'dead_lettered', 'requeued'] as const) messages.inc({ outcome }, 0);
  for (const reason of Object.values(RejectionReason)) deadLettered.inc({ reason }, 0);
  return { messages, deadLettered };
}

export interface OrderIntakeOptions {
  broker: Broker;
  logger: Logger;
  /** Starts the saga of a valid message (a method: the starter takes the input of `saga`'s own schema). */
  start(this: void, input: IntakeInput): Promise<'started' | 'duplicate'>;
  /** The saga a message starts (default the order saga): its routing key, schema and ids. */
  saga?: IntakeSaga;
  /** ORDER_INTAKE_QUEUE; its dead-letter queue is `<queue>.dlq`. */
  queue: string;
  /** ORDER_INTAKE_PREFETCH: messages held unacknowledged at once. */
  prefetch: number;
  /** BODY_LIMIT: the largest body accepted, in bytes, as for POST /orders. */
  maxBytes: number;
  metrics: OrderIntakeMetrics;
  /** The exchange the queue is bound to (default `saga.intake`; tests use their own). */
  exchange?: string;
  /** Backoff before a failed start's message is requeued: first delay and cap, ms (defaults 1000 and 30000). */
  requeueBackoff?: { initialMs?: number; maxMs?: number };
  /**
   * Test hook: runs once the start returned, before the message is acknowledged (the window a consumer may die in).
   */
  beforeAck?: (delivery: { orderId: string; outcome: 'started' | 'duplicate'; redelivered: boolean }) => Promise<void>;
}

export interface OrderIntake {
  /** Stops consuming, settles the messages in hand (those waiting for a requeue go back at once), then resolves. */
  stop(): Promise<void>;
}

type Decoded<I = OrderSagaInput> =
  { ok: true; input: I } | { ok: false; reason: RejectionReason; detail: string; fields?: string[]; orderId?: string };

/** A publisher's string fit for a log line or a header: short, printable ASCII, else left out. */
function printable(value: unknown, max = 128): string | undefined {
  return typeof value === 'string' && /^[\x20-\x7e]+$/.test(value) ? value.slice(0, max) : undefined;
}

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * Parses and validates a message's body as `POST /orders` does its request's, by the saga's own input schema (the
 * order saga's unless `schema` is given).
 */
export function decodeOrderPlaced<I = OrderSagaInput>(
  message: Pick<ConsumeMessage, 'content' | 'properties'>,
  maxBytes: number,
  schema: z.ZodType<I> = OrderSagaInput as unknown as z.ZodType<I>,
): Decoded<I> {
  const { content, properties } = message;
  if (content.length > maxBytes) {
    return { ok: false, reason: 'too-large', detail: `the body is ${content.length} bytes, more than ${maxBytes}` };
  }
  const type: unknown = properties.contentType;
  if (type !== undefined && !(typeof type === 'string' && JSON_TYPE.test(type))) {
    const shown = printable(type, 100) ?? '(unprintable)';
    return { ok: false, reason: 'not-json', detail: `content type ${shown} is not application/json` };
  }
  const encoding: unknown = properties.contentEncoding;
  if (encoding !== undefined && !(typeof encoding === 'string' && /^(utf-?8|identity)$/i.test(encoding))) {
    const shown = printable(encoding, 100) ?? '(unprintable)';
    return { ok: false, reason: 'not-json', detail: `content encoding ${shown} is not utf-8` };
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(content));
  } catch {
    return { ok: false, reason: 'not-json', detail: 'the body is not UTF-8 JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, input: parsed.data };
  const errors = fieldErrors(parsed.error);
  const orderId = Id.safeParse((json as { orderId?: unknown } | null)?.orderId);
  return {
    ok: false,
    reason: 'invalid-order',
    detail: errors.map((e) => `${e.path || '(body)'} ${e.message}`).join('; '),
    fields: errors.map((e) => e.path || '(body)'),
    ...(orderId.success ? { orderId: orderId.data } : {}),
  };
}

/** The properties a dead-lettered copy keeps: all but `expiration` (it would expire there) and `userId`. */
function keptProperties(properties: ConsumeMessage['properties']): Options.Publish {
  const kept: Options.Publish = {};
  const { contentType, contentEncoding, priority, correlationId, replyTo, messageId, timestamp, type, appId } =
    properties as Record<keyof typeof properties, unknown>;
  if (typeof contentType === 'string') kept.contentType = contentType;
  if (typeof contentEncoding === 'string') kept.contentEncoding = contentEncoding;
  if (typeof priority === 'number') kept.priority = priority;
  if (typeof correlationId === 'string') kept.correlationId = correlationId;
  if (typeof replyTo === 'string') kept.replyTo = replyTo;
  if (typeof messageId === 'string') kept.messageId = messageId;
  if (typeof timestamp === 'number') kept.timestamp = timestamp;
  if (typeof type === 'string') kept.type = type;
  if (typeof appId === 'string') kept.appId = appId;
  return kept;
}

/** Publishes one message and resolves once the broker confirmed it; rejects if it refused or the channel closed. */
function publishConfirmed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish(exchange, routingKey, content, options, (err: unknown) =>
      err ? reject(err instanceof Error ? err : new Error('the broker did not confirm the message')) : resolve(),
    );
  });
}

/**
 * Declares the exchange, the queue, its binding and the dead-letter queue on every (re)connection, and consumes
 * the queue with `prefetch` messages in hand at most, each acknowledged by hand.
 */
export async function startOrderIntake(options: OrderIntakeOptions): Promise<OrderIntake> {
  const { broker, logger, start, queue, prefetch, maxBytes, metrics } = options;
  const saga: IntakeSaga = options.saga ?? intakeSagas.order;
  const routingKey = orderPlacedRoutingKey(saga.sagaType);
  const exchange = options.exchange ?? ORDER_INTAKE_EXCHANGE;
  const dlq = deadLetterQueueOf(queue);
  const initialMs = options.requeueBackoff?.initialMs ?? 1_000;
  const maxMs = options.requeueBackoff?.maxMs ?? 30_000;
  let stopping = false;
  let consumer: { channel: ConfirmChannel; consumerTag: string } | undefined;
  /** Infrastructure failures in a row (any message); a start that succeeds resets it. */
  let failures = 0;
  const inFlight = new Set<Promise<void>>();
  /** Wake-ups of the messages waiting for their requeue: `stop()` requeues them at once. */
  const backoffs = new Set<() => void>();

  const count = (outcome: IntakeOutcome) => metrics.messages.inc({ outcome });

  /** Acknowledges or requeues; false when the channel is gone (the broker then delivers the message again). */
  const settle = (channel: ConfirmChannel, msg: ConsumeMessage, how: 'ack' | 'requeue', log: Logger): boolean => {
    try {
      if (how === 'ack') channel.ack(msg);
      else channel.nack(msg, false, true);
      return true;
    } catch (err) {
      log.info({ err }, 'The channel closed before the message was settled: RabbitMQ delivers it again');
      return false;
    }
  };

  const requeueLater = async (channel: ConfirmChannel, msg: ConsumeMessage, err: unknown, log: Logger) => {
    failures += 1;
    const delayMs = Math.round(
      Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 20)) * (0.5 + Math.random() / 2),
    );
    log.warn(
      { err, attempt: failures, delayMs },
      `Could not start the saga (infrastructure): the message goes back to ${queue} in ${delayMs} ms`,
    );
    if (!stopping) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          backoffs.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, delayMs);
        backoffs.add(wake);
      });
    }
    if (settle(channel, msg, 'requeue', log)) count('requeued');
  };

  const deadLetter = async (
    channel: ConfirmChannel,
    msg: ConsumeMessage,
    rejection: { reason: RejectionReason; detail: string; fields?: string[] },
    log: Logger,
  ) => {
    const { reason, detail } = rejection;
    const headers = {
      ...(msg.properties.headers ?? {}),
      'x-rejection-reason': reason,
      'x-rejection-detail': detail.slice(0, 1000),
      'x-rejected-at': new Date().toISOString(),
      'x-rejected-by': 'order-intake',
      'x-original-exchange': msg.fields.exchange,
      'x-original-routing-key': msg.fields.routingKey,
    };
    try {
      await publishConfirmed(channel, '', dlq, msg.content, {
        ...keptProperties(msg.properties),
        headers,
        persistent: true,
      });
    } catch (err) {
      await requeueLater(channel, msg, err, log);
      return;
    }
    if (!settle(channel, msg, 'ack', log)) return; // delivered again, and dead-lettered again (same message id)
    count('dead_lettered');
    metrics.deadLettered.inc({ reason });
    log.warn(
      { reason, detail, ...(rejection.fields ? { fields: rejection.fields } : {}), deadLetterQueue: dlq },
      `OrderPlaced dead-lettered to ${dlq}: ${reason}`,
    );
  };

  const handle = async (channel: ConfirmChannel, msg: ConsumeMessage): Promise<void> => {
    const messageId = printable(msg.properties.messageId);
    const base = logger.child({
      ...(messageId !== undefined ? { messageId } : {}),
      redelivered: msg.fields.redelivered,
      queue,
    });
    const decoded = decodeOrderPlaced(msg, maxBytes, saga.input);
    const ids = (orderId: string) => ({
      workflowId: saga.workflowId(orderId),
      sagaType: saga.workflowType,
      sagaId: orderId,
    });
    if (!decoded.ok) {
      const log = decoded.orderId ? base.child(ids(decoded.orderId)) : base;
      await deadLetter(channel, msg, decoded, log);
      return;
    }
    const { orderId } = decoded.input;
    const log = base.child(ids(orderId));
    let outcome: 'started' | 'duplicate';
    try {
      outcome = await start(decoded.input);
    } catch (err) {
      if (err instanceof StartRefused) await deadLetter(channel, msg, err, log);
      else await requeueLater(channel, msg, err, log);
      return;
    }
    failures = 0;
    await options.beforeAck?.({ orderId, outcome, redelivered: msg.fields.redelivered });
    if (!settle(channel, msg, 'ack', log)) return;
    count(outcome);
    if (outcome === 'started') log.info({ outcome }, `${saga.sagaType} saga ${orderId} started by OrderPlaced`);
    else log.info({ outcome }, `${saga.sagaType} saga ${orderId} was already started by this message: acknowledged`);
  };

  const onMessage = (channel: ConfirmChannel, msg: ConsumeMessage | null) => {
    if (msg === null) {
      // The broker cancelled the consumer (the queue was deleted): the next connection declares it again.
      logger.warn({ queue }, `RabbitMQ cancelled the consumer of ${queue}`);
      return;
    }
    const running: Promise<void> = handle(channel, msg)
      .catch((err: unknown) => logger.error({ err, queue }, 'Handling an OrderPlaced message failed'))
      .finally(() => inFlight.delete(running));
    inFlight.add(running);
  };

  await broker.addSetup(async (channel) => {
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, routingKey);
    await channel.assertQueue(dlq, { durable: true });
    if (stopping) return;
    await channel.prefetch(prefetch);
    const { consumerTag } = await channel.consume(queue, (msg) => onMessage(channel, msg), { noAck: false });
    consumer = { channel, consumerTag };
    logger.info(
      { queue, exchange, routingKey, deadLetterQueue: dlq, prefetch },
      `Consuming OrderPlaced from ${queue} (exchange ${exchange}, key ${routingKey}) to start ${saga.sagaType} sagas`,
    );
  });

  return {
    async stop() {
      stopping = true;
      const current = consumer;
      consumer = undefined;
      if (current) await current.channel.cancel(current.consumerTag).catch(() => undefined);
      for (const wake of [...backoffs]) wake();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

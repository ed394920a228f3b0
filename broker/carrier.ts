/**
 * The carrier's command and reply queues (docs/sagas.md, "The carrier over the broker"), both sides of them:
 *
 *   worker ── CreateShipment.v1 / CancelShipment.v1 ──▶ carrier.commands ──▶ carrier process
 *     ▲          (message id = idempotency key, reply-to, task token header)         │ applies it (idempotent by key)
 *     └──────────── carrier.replies.<task queue> ◀── CarrierReply.v1 ─────────────────┘ (correlation id = message id)
 *
 * Every queue is durable and every message persistent; every publish waits for the broker's confirm; every
 * consumer acknowledges by hand, only once the message's work is done (the carrier: the reply confirmed; the
 * worker: the activity completed in Temporal). A consumer that dies before its ack gets the message again on its
 * next connection (or another consumer does): at least once, made harmless by idempotency on both sides.
 */
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import {
  type CarrierLink,
  CarrierMessageType,
  echoedCarrierHeaders,
  type OutgoingCarrierCommand,
} from '../common/carrier';
import type { CarrierReply } from '../common/shapes/carrier';
import type { Broker } from './connection';

const queueOptions = { durable: true } as const;

/** Declares a durable queue (idempotent: the same arguments everywhere). */
export async function declareQueue(channel: ConfirmChannel, queue: string): Promise<void> {
  await channel.assertQueue(queue, queueOptions);
}

/**
 * The worker's side of sending: declares the command queue and the worker's reply queue on every connection (so
 * that neither a command nor a reply is ever published to a queue that does not exist, which RabbitMQ would drop),
 * then publishes each command persistent with its message id, reply-to and headers, and waits for the confirm.
 * A lost connection rejects the wait: the activity fails and its retry sends the command again.
 */
export async function brokerCarrierLink(
  broker: Broker,
  options: { commandQueue: string; replyQueue: string; replyTimeoutSeconds: number; attempts: number },
): Promise<CarrierLink> {
  const { commandQueue, replyQueue } = options;
  await broker.addSetup(async (channel) => {
    await declareQueue(channel, commandQueue);
    await declareQueue(channel, replyQueue);
  });
  return {
    settings: { replyTimeoutSeconds: options.replyTimeoutSeconds, attempts: options.attempts },
    async send(command: OutgoingCarrierCommand) {
      const channel = await broker.channel();
      channel.sendToQueue(commandQueue, Buffer.from(JSON.stringify(command.body)), {
        persistent: true,
        messageId: command.messageId,
        replyTo: replyQueue,
        type: command.type,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        expiration: String(command.expirationMs),
        appId: 'durable-sagas',
        headers: command.headers,
      });
      await channel.waitForConfirms();
    },
  };
}

export interface QueueConsumer {
  /** Stops taking messages and waits for those being handled; unacknowledged ones go back to the queue. */
  stop(): Promise<void>;
}

/**
 * Consumes `queue` with manual acks, on every (re)connection: `handle` acks or rejects each message itself on the
 * channel it came on. A handler that throws has its message requeued after `requeueDelayMs` (no hot loop).
 */
export async function consumeQueue(
  broker: Broker,
  options: {
    queue: string;
    prefetch: number;
    logger: Logger;
    requeueDelayMs?: number;
    handle: (message: ConsumeMessage, channel: ConfirmChannel) => Promise<void>;
  },
): Promise<QueueConsumer> {
  const { queue, prefetch, logger, handle } = options;
  const requeueDelayMs = options.requeueDelayMs ?? 1_000;
  let stopped = false;
  let active: { channel: ConfirmChannel; consumerTag: string } | undefined;
  const inFlight = new Set<Promise<void>>();
  await broker.addSetup(async (channel) => {
    if (stopped) return;
    await declareQueue(channel, queue);
    await channel.prefetch(prefetch);
    const { consumerTag } = await channel.consume(
      queue,
      (message) => {
        if (!message) return; // the broker cancelled the consumer (queue deleted): the next connection consumes again
        const work = handle(message, channel).catch(async (err: unknown) => {
          logger.error({ err, queue, messageId: message.properties.messageId }, 'Handling a message failed: requeued');
          await new Promise((resolve) => setTimeout(resolve, requeueDelayMs));
          settle(channel, () => channel.nack(message, false, true));
        });
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work));
      },
      { noAck: false },
    );
    active = { channel, consumerTag };
  });
  return {
    async stop() {
      stopped = true;
      const current = active;
      active = undefined;
      if (current) await current.channel.cancel(current.consumerTag).catch(() => undefined);
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** An ack or nack on a channel that may have closed meanwhile (the broker then redelivers the message anyway). */
export function settle(_channel: ConfirmChannel, act: () => void): void {
  try {
    act();
  } catch {
    // channel closed: the message is redelivered on the next connection
  }
}

/**
 * The carrier's side: serves commands from `queue`. For each, `apply` returns the reply, or throws when the carrier
 * cannot work now (its database is away: the message is requeued after a delay and no reply is sent; the saga's
 * attempt may time out and send it again). The reply goes persistent to the command's reply-to queue with the
 * command's message id as correlation id and its echoed headers; the command is acked once the reply is confirmed.
 * `afterApply` is the test hook between applying and replying (CARRIER_TEST_FAULT).
 */
export async function serveCarrierCommands(
  broker: Broker,
  options: {
    queue: string;
    prefetch?: number;
    logger: Logger;
    apply: (
      type: string | undefined,
      body: unknown,
      meta: { messageId: string; redelivered: boolean },
    ) => Promise<CarrierReply>;
    afterApply?: () => void;
  },
): Promise<QueueConsumer> {
  const { logger, apply } = options;
  return consumeQueue(broker, {
    queue: options.queue,
    prefetch: options.prefetch ?? 16,
    logger,
    requeueDelayMs: 2_000,
    async handle(message, channel) {
      const { messageId, replyTo, type, headers } = message.properties as {
        messageId?: string;
        replyTo?: string;
        type?: string;
        headers?: Record<string, unknown>;
      };
      if (!messageId || !replyTo) {
        logger.warn({ type, messageId }, 'Carrier command without message id or reply-to: dropped (nobody to answer)');
        settle(channel, () => channel.ack(message));
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(message.content.toString('utf8'));
      } catch {
        body = undefined;
      }
      const reply = await apply(type, body, { messageId, redelivered: message.fields.redelivered });
      options.afterApply?.();
      const echoed = Object.fromEntries(
        Object.entries(headers ?? {}).filter(([name]) => echoedCarrierHeaders.includes(name)),
      );
      channel.sendToQueue(replyTo, Buffer.from(JSON.stringify(reply)), {
        persistent: true,
        correlationId: messageId,
        type: CarrierMessageType.reply,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        appId: 'carrier',
        headers: echoed,
      });
      await channel.waitForConfirms();
      settle(channel, () => channel.ack(message));
    },
  });
}

import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { Broker } from '../broker/connection';
import { SAGA_EVENTS_EXCHANGE } from '../broker/topology';
import { DomainEvent } from '../common/shapes/domain-events';

/** The dispatcher's durable queue, bound to `saga.events` with `#`: every domain event of every saga. */
export const WEBHOOKS_QUEUE = 'saga.webhooks';

/** Messages handled at once (each one's fan-out is a few inserts). */
const PREFETCH = 16;

/**
 * Feeds the dispatcher from RabbitMQ (docs/events.md, "Webhooks"): on every (re)connection the durable queue
 * `saga.webhooks` is declared and bound to `saga.events`, and each message is fanned out to the subscriptions that
 * want its event and **acknowledged only once those deliveries are stored**. A message redelivered (the broker
 * restarted, the process died before its ack) is fanned out again, which creates nothing twice (delivery `_id`
 * `<subscriptionId>#<eventId>`). A fan-out that fails (MongoDB away) is given back to the queue after `retryMs`; a
 * message that is not a domain event is logged and dropped (rejected without requeue), since no retry mends it.
 */
export async function consumeEvents({
  broker,
  fanOut,
  logger,
  retryMs = 1_000,
  queue = WEBHOOKS_QUEUE,
}: {
  broker: Broker;
  fanOut: (event: DomainEvent) => Promise<unknown>;
  logger: Logger;
  retryMs?: number;
  /** The queue's name (default `saga.webhooks`): tests that share one RabbitMQ take one of their own each. */
  queue?: string;
}): Promise<void> {
  await broker.addSetup(async (channel) => {
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, SAGA_EVENTS_EXCHANGE, '#');
    await channel.prefetch(PREFETCH);
    const handle = async (msg: ConsumeMessage): Promise<void> => {
      let parsed: ReturnType<typeof DomainEvent.safeParse>;
      try {
        parsed = DomainEvent.safeParse(JSON.parse(msg.content.toString('utf8')));
      } catch {
        parsed = DomainEvent.safeParse(undefined);
      }
      if (!parsed.success) {
        logger.warn(
          { messageId: msg.properties.messageId as unknown, routingKey: msg.fields.routingKey },
          'dropped a message of saga.events that is not a domain event',
        );
        channel.nack(msg, false, false);
        return;
      }
      try {
        await fanOut(parsed.data);
        channel.ack(msg);
      } catch (err) {
        logger.warn(
          { err, eventId: parsed.data.eventId },
          'webhook fan-out failed: the message goes back to the queue',
        );
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        channel.nack(msg, false, true);
      }
    };
    await channel.consume(
      queue,
      (msg) => {
        if (msg) void handle(msg).catch(() => undefined); // a closed channel: the broker redelivers
      },
      { noAck: false },
    );
  });
}

/**
 * The worker's reply consumer for the broker carrier (docs/sagas.md, "The carrier over the broker"): takes each
 * `CarrierReply.v1` from this worker's durable reply queue and completes the activity attempt that waits for it
 * (by the task token the reply echoes), or fails it with the carrier's business refusal as a non-retryable
 * `ApplicationFailure` of that type. The message is acknowledged only after Temporal has taken the completion:
 *
 * - a reply that arrives while no worker runs waits in the queue (durable, persistent) and is completed when one
 *   starts, if its attempt is still waiting;
 * - a duplicate reply, or one for an attempt that timed out or a saga that moved on, gets NotFound from Temporal:
 *   acknowledged and ignored (logged at debug), it changes nothing;
 * - Temporal unreachable: the completion is retried with backoff, the message held (not acknowledged) meanwhile.
 *
 * The result is shaped as attempt reporting shapes every activity's (`{ value, attempt }`, the attempt as a
 * failure's first detail: workers/interceptors/attempt-reporting.ts), from the reply's `x-attempt` header.
 */
import { ActivityNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { type Broker } from '../broker/connection';
import { brokerCarrierLink, consumeQueue, type QueueConsumer, settle } from '../broker/carrier';
import { CarrierHeader, type CarrierLink, carrierReplyQueue } from '../common/carrier';
import { CarrierReply } from '../common/shapes/carrier';
import type { AttemptDetail, Attempted } from '../common/attempted';

export interface BrokerCarrierOptions {
  broker: Broker;
  /** Completes the activities (the worker's client: the same data converter). */
  client: Client;
  taskQueue: string;
  commandQueue: string;
  replyTimeoutSeconds: number;
  attempts: number;
  logger: Logger;
}

export interface BrokerCarrier {
  /** For `createSagaWorker({ carrier })`: the activities send their commands through it. */
  link: CarrierLink;
  /** Stops consuming replies (those not yet acknowledged stay in the queue). */
  stop(): Promise<void>;
}

/** The sending link and the reply consumer of one worker (task queue). */
export async function startBrokerCarrier(options: BrokerCarrierOptions): Promise<BrokerCarrier> {
  const replyQueue = carrierReplyQueue(options.taskQueue);
  const link = await brokerCarrierLink(options.broker, { ...options, replyQueue });
  const consumer = await consumeCarrierReplies(options.broker, {
    queue: replyQueue,
    client: options.client,
    logger: options.logger,
  });
  return { link, stop: () => consumer.stop() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function consumeCarrierReplies(
  broker: Broker,
  { queue, client, logger }: { queue: string; client: Client; logger: Logger },
): Promise<QueueConsumer> {
  let stopping = false;
  const consumer = await consumeQueue(broker, {
    queue,
    prefetch: 32,
    logger,
    async handle(message, channel) {
      const { correlationId, headers } = message.properties as {
        correlationId?: string;
        headers?: Record<string, unknown>;
      };
      const token = headers?.[CarrierHeader.taskToken];
      const attempt = Number(headers?.[CarrierHeader.attempt]);
      let reply: CarrierReply | undefined;
      try {
        reply = CarrierReply.parse(JSON.parse(message.content.toString('utf8')));
      } catch {
        reply = undefined;
      }
      if (typeof token !== 'string' || !Number.isInteger(attempt) || attempt < 1 || !reply) {
        logger.warn({ correlationId, queue }, 'Carrier reply without a task token, attempt or valid body: dropped');
        settle(channel, () => channel.ack(message));
        return;
      }
      const taskToken = new Uint8Array(Buffer.from(token, 'base64'));
      const complete = async () => {
        if (reply.outcome === 'done') {
          const result: Attempted<string> = { value: reply.result, attempt };
          await client.activity.complete(taskToken, result);
        } else {
          const detail: AttemptDetail = { attempt };
          await client.activity.fail(
            taskToken,
            ApplicationFailure.create({
              type: reply.type,
              message: reply.message,
              nonRetryable: true,
              details: [detail],
            }),
          );
        }
      };
      for (let delay = 200; ; delay = Math.min(delay * 2, 10_000)) {
        try {
          await complete();
          logger.debug({ correlationId, attempt, outcome: reply.outcome }, 'Carrier reply completed its activity');
          break;
        } catch (err) {
          if (err instanceof ActivityNotFoundError) {
            // A duplicate, or an attempt that timed out (its retry has its own reply), or a saga that moved on.
            logger.debug({ correlationId, attempt }, 'Carrier reply for no waiting attempt: ignored');
            break;
          }
          if (stopping) return; // not acknowledged: redelivered to the next consumer
          logger.warn({ err, correlationId, attempt }, 'Completing the activity from a carrier reply failed: retrying');
          await sleep(delay);
        }
      }
      settle(channel, () => channel.ack(message));
    },
  });
  return {
    async stop() {
      stopping = true;
      await consumer.stop();
    },
  };
}

/**
 * The service's connection to RabbitMQ (docs/events.md, "Broker"): one AMQP connection per process, kept up by
 * amqplib's own recovery (reconnects with exponential backoff and jitter, for ever, after the broker went away), and
 * on each connection one **confirm channel** on which the topic exchange `saga.events` is declared and every setup
 * registered with `addSetup` runs (a consumer's queue, bindings and `consume`: they are lost with the connection and
 * run again on the next one).
 *
 * Publishers take `await broker.channel()` (it waits while the broker is away), publish, and `waitForConfirms()`;
 * a lost connection rejects the wait ("channel closed"): nothing is confirmed then, so publish again on the next
 * channel. A channel the broker closes on its own (a channel error: an unknown exchange, a bad ack) takes the
 * connection down with it, so that the next one starts clean with every setup.
 */
import { EventEmitter } from 'node:events';
import amqplib, { type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { redactedAmqpUrl } from '../common/config';
import { SAGA_EVENTS_EXCHANGE } from './topology';

/** Runs on every new channel: declare queues, bind them, start consumers. A failure drops the connection (retried). */
export type ChannelSetup = (channel: ConfirmChannel) => Promise<void>;

export interface BrokerOptions {
  /** AMQP_URL (validated by the configuration). Logged with its password replaced. */
  url: string;
  logger: Logger;
  /** Shown in RabbitMQ's connection list (`rabbitmqctl list_connections client_properties`), e.g. `relay`. */
  connectionName: string;
  /** Setups to run on the first channel already (see `addSetup`). */
  setups?: ChannelSetup[];
  /** Reconnect backoff: first delay and cap, ms (defaults 200 and 5000). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** AMQP heartbeat, seconds (default 10): a broker that vanished without closing the socket is noticed by then. */
  heartbeatSeconds?: number;
}

export interface Broker {
  /** The current connection's confirm channel, the exchange declared and every setup run; waits while disconnected. */
  channel(): Promise<ConfirmChannel>;
  /** From now on on every new channel, and at once on the current one if connected. */
  addSetup(setup: ChannelSetup): Promise<void>;
  /** True while a channel is up. */
  isConnected(): boolean;
  /** `connected` (with the channel) after each (re)connection; `disconnected` (with the error) when it is lost. */
  readonly events: EventEmitter<{ connected: [ConfirmChannel]; disconnected: [Error] }>;
  /** Closes the connection and stops reconnecting; `channel()` then rejects. */
  close(): Promise<void>;
}

/** The URL with a heartbeat unless it names one. */
function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}

/**
 * Connects to RabbitMQ, retrying with backoff until it succeeds (so a process may start before the broker), and
 * resolves once the first channel is set up. Never gives up reconnecting afterwards; `close()` stops it.
 */
export async function connectBroker(options: BrokerOptions): Promise<Broker> {
  const { logger, connectionName } = options;
  const where = redactedAmqpUrl(options.url);
  const setups: ChannelSetup[] = [...(options.setups ?? [])];
  const events = new EventEmitter<{ connected: [ConfirmChannel]; disconnected: [Error] }>();
  let current: ConfirmChannel | undefined;
  /** The channel set up on the model being connected, published on its `connect` event. */
  let prepared: { model: ChannelModel; channel: ConfirmChannel } | undefined;
  let waiters: { resolve: (ch: ConfirmChannel) => void; reject: (err: Error) => void }[] = [];
  let closed = false;

  const setup = async (model: ChannelModel): Promise<void> => {
    const channel = await model.createConfirmChannel();
    channel.on('error', (err: Error) => logger.warn({ err }, 'Broker channel error'));
    channel.on('close', () => {
      // The broker closed the channel but not the connection: drop the connection too, so that recovery makes a
      // new one with every setup (a connection loss closes the channel as well; closing again is harmless).
      if (!closed) model.close().catch(() => undefined);
    });
    await channel.assertExchange(SAGA_EVENTS_EXCHANGE, 'topic', { durable: true });
    for (const run of setups) await run(channel);
    prepared = { model, channel };
  };

  const connection: RecoveringChannelModel = await amqplib.connect(
    withHeartbeat(options.url, options.heartbeatSeconds ?? 10),
    {
      clientProperties: { connection_name: connectionName },
      recovery: {
        initialDelay: options.reconnect?.initialDelayMs ?? 200,
        maxDelay: options.reconnect?.maxDelayMs ?? 5_000,
        maxRetries: Infinity,
        waitForConnect: false,
        setup,
      },
    },
  );
  connection.on('connect', (model: ChannelModel) => {
    if (prepared?.model !== model) return;
    current = prepared.channel;
    prepared = undefined;
    logger.info({ broker: where, connectionName }, `Connected to RabbitMQ at ${where}`);
    const pending = waiters;
    waiters = [];
    for (const waiter of pending) waiter.resolve(current);
    events.emit('connected', current);
  });
  connection.on('disconnect', (err: Error) => {
    current = undefined;
    logger.warn({ err, broker: where }, 'Lost the RabbitMQ connection: reconnecting');
    events.emit('disconnected', err);
  });
  connection.on('reconnect-scheduled', ({ attempt, delay, error }) => {
    // The first attempts of an outage at info: a broker restart is routine. Later ones at warn.
    logger[attempt <= 3 ? 'info' : 'warn'](
      { err: error, attempt, delayMs: delay, broker: where },
      `No RabbitMQ connection (attempt ${attempt}): retrying in ${delay} ms`,
    );
  });
  connection.on('error', (err: Error) => logger.warn({ err }, 'Broker connection error'));
  connection.on('blocked', (reason: string) => logger.warn({ reason }, 'RabbitMQ blocks publishing (resource alarm)'));
  connection.on('unblocked', () => logger.info('RabbitMQ unblocked publishing'));

  const broker: Broker = {
    channel: () =>
      current
        ? Promise.resolve(current)
        : closed
          ? Promise.reject(new Error('broker connection closed'))
          : new Promise((resolve, reject) => waiters.push({ resolve, reject })),
    async addSetup(run) {
      setups.push(run);
      if (current) await run(current);
    },
    isConnected: () => current !== undefined,
    events,
    async close() {
      if (closed) return;
      closed = true;
      current = undefined;
      const pending = waiters;
      waiters = [];
      for (const waiter of pending) waiter.reject(new Error('broker connection closed'));
      await connection.close();
    },
  };
  await broker.channel();
  return broker;
}

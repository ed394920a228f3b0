import { connectMongo } from '../store/db';
import { connectBroker } from '../broker/connection';
import { consumeEvents } from '../webhooks/consumer';
import { startDispatcher } from '../webhooks/dispatcher';
import { runMain } from './logging';
import { dispatcherOptionsFromConfig } from './webhooks';

/**
 * The webhook dispatcher process (docs/events.md, "Webhooks"): consumes the domain events from RabbitMQ (queue
 * saga.webhooks, bound to saga.events), stores a delivery per subscription that wants each one, and sends the
 * pending deliveries, signed, with retries and backoff, until SIGINT/SIGTERM; then it closes the broker connection,
 * waits for the attempts in flight and exits 0. One per database.
 */
runMain('webhooks', async (config, logger) => {
  if (!config.payloadKeyRing) {
    logger.warn(
      'PAYLOAD_ENCRYPTION=off: webhook signing secrets are stored in MongoDB in plain text (docs/security.md)',
    );
  }
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  try {
    const stopping = new Promise<string>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
    });
    const dispatcher = await startDispatcher(dispatcherOptionsFromConfig(config, db, logger));
    // Events arrive from RabbitMQ: the queue saga.webhooks, bound to saga.events (webhooks/consumer.ts).
    const broker = await connectBroker({ url: config.AMQP_URL, logger, connectionName: 'webhooks' });
    await consumeEvents({
      broker,
      queue: config.WEBHOOK_QUEUE,
      fanOut: (event) => dispatcher.fanOut(event),
      logger,
    });
    logger.info(
      { allowedHosts: config.WEBHOOK_ALLOWED_HOSTS },
      `Webhook dispatcher sending to ${config.WEBHOOK_ALLOWED_HOSTS.join(', ') || '(no host allowed: WEBHOOK_ALLOWED_HOSTS)'}`,
    );
    const signal = await stopping;
    logger.info(`${signal}: finishing the attempts in flight`);
    await broker.close(); // messages not yet acknowledged are redelivered to the next dispatcher
    await dispatcher.stop();
    logger.info('Webhook dispatcher stopped');
  } finally {
    await client.close();
  }
});

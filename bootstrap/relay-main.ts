import { serveMetrics } from './metrics-server';
import { connectBroker } from '../broker/connection';
import { createOutboxRelay } from '../broker/outbox-relay';
import { createRelayMetrics } from '../broker/relay-metrics';
import { redactedAmqpUrl } from '../common/config';
import { connectMongo } from '../store/db';
import { ensureOutboxIndexes } from '../store/outbox';
import { runMain } from './logging';

/**
 * The outbox relay (docs/events.md, "Broker"): publishes the sagas' domain events from MongoDB's outbox to RabbitMQ's
 * `saga.events` exchange. One publishes at a time (a lease in MongoDB); another one started beside it stands by
 * and takes over when the first stops or dies. On SIGINT/SIGTERM it finishes its round (the broker's confirms and
 * the markers' deletes), releases the lease, closes its connections and exits 0.
 */
runMain('relay', async (config, logger) => {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info(`${signal}: finishing the round in progress`);
      controller.abort();
    });
  }
  const metrics = createRelayMetrics({ processMetrics: true });
  const metricsServer = config.RELAY_METRICS_ADDRESS
    ? await serveMetrics(metrics.registry, config.RELAY_METRICS_ADDRESS)
    : undefined;
  if (config.RELAY_METRICS_ADDRESS) logger.info(`Relay metrics on http://${config.RELAY_METRICS_ADDRESS}/metrics`);
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  try {
    await ensureOutboxIndexes(db);
    logger.info(`Connecting to RabbitMQ at ${redactedAmqpUrl(config.AMQP_URL)}`);
    const broker = await connectBroker({ url: config.AMQP_URL, logger, connectionName: 'outbox-relay' });
    try {
      const relay = createOutboxRelay({
        db,
        broker,
        logger,
        metrics,
        pollMs: config.RELAY_POLL_MS,
        batchSize: config.RELAY_BATCH_SIZE,
        leaseTtlMs: config.RELAY_LEASE_SECONDS * 1000,
      });
      logger.info(
        { pollMs: config.RELAY_POLL_MS, batchSize: config.RELAY_BATCH_SIZE },
        `Relay publishing the outbox of database '${config.MONGODB_DB}' to exchange saga.events`,
      );
      await relay.run(controller.signal);
      logger.info('Relay stopped');
    } finally {
      await broker.close();
    }
  } finally {
    await client.close();
    metricsServer?.close();
  }
});

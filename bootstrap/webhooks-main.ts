import { connectMongo } from '../store/db';
import { startDispatcher } from '../webhooks/dispatcher';
import { runMain } from './logging';
import { dispatcherOptionsFromConfig } from './webhooks';

/**
 * The webhook dispatcher process (docs/events.md, "Webhooks"): sends the pending deliveries, signed, with retries
 * and backoff, until SIGINT/SIGTERM; then it waits for the attempts in flight and exits 0. One per database.
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
    logger.info(
      { allowedHosts: config.WEBHOOK_ALLOWED_HOSTS },
      `Webhook dispatcher sending to ${config.WEBHOOK_ALLOWED_HOSTS.join(', ') || '(no host allowed: WEBHOOK_ALLOWED_HOSTS)'}`,
    );
    const signal = await stopping;
    logger.info(`${signal}: finishing the attempts in flight`);
    await dispatcher.stop();
    logger.info('Webhook dispatcher stopped');
  } finally {
    await client.close();
  }
});

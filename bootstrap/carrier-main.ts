import { carrierCommandHandler } from '../activities/carrier/apply-command';
import { createShipmentActivities } from '../activities/participants/shipments';
import { serveCarrierCommands } from '../broker/carrier';
import { connectBroker } from '../broker/connection';
import { collections, connectMongo } from '../store/db';
import { runMain } from './logging';

/**
 * The carrier process (CARRIER=broker; docs/sagas.md, "The carrier over the broker"): consumes the durable command
 * queue CARRIER_COMMAND_QUEUE, applies each command with the shipments participant (idempotent by its key, in
 * MONGODB_URI's `shipments`), publishes the reply persistent to the command's reply-to queue (correlation id = the
 * command's message id) and acknowledges the command only once the broker has confirmed the reply. Killed between
 * applying and replying, the command is redelivered and answered with the same effect (`already-applied`).
 * On SIGINT/SIGTERM it stops taking commands, finishes those in hand, and exits 0.
 */
runMain('carrier', async (config, logger) => {
  if (config.CARRIER_TEST_FAULT) {
    logger.warn(`CARRIER_TEST_FAULT=${config.CARRIER_TEST_FAULT}: a test hook, never for production`);
  }
  const { client: mongo, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  const broker = await connectBroker({ url: config.AMQP_URL, logger, connectionName: 'carrier' });
  const apply = carrierCommandHandler(
    createShipmentActivities(collections(db), { servedCountries: config.SERVED_COUNTRIES }),
  );
  const consumer = await serveCarrierCommands(broker, {
    queue: config.CARRIER_COMMAND_QUEUE,
    logger,
    async apply(type, body, { messageId, redelivered }) {
      const reply = await apply(type, body);
      // The message id names the saga and step; the body (an address) is never logged.
      logger.info(
        {
          messageId,
          type,
          redelivered,
          outcome: reply.outcome,
          ...(reply.outcome === 'done' ? { result: reply.result } : { failureType: reply.type }),
        },
        `Carrier command ${type} ${messageId}: ${reply.outcome === 'done' ? reply.result : `refused (${reply.type})`}`,
      );
      return reply;
    },
    ...(config.CARRIER_TEST_FAULT === 'die-after-apply'
      ? {
          afterApply: () => {
            logger.warn('CARRIER_TEST_FAULT=die-after-apply: killing myself before the reply');
            process.kill(process.pid, 'SIGKILL');
          },
        }
      : {}),
  });
  logger.info(
    { queue: config.CARRIER_COMMAND_QUEUE },
    `Carrier consuming commands from '${config.CARRIER_COMMAND_QUEUE}'`,
  );
  const signal = await new Promise<string>((resolve) => {
    for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => resolve(name));
  });
  logger.info(`${signal}: no new commands; finishing those in hand`);
  await consumer.stop();
  await broker.close();
  await mongo.close();
  logger.info('Carrier stopped');
});

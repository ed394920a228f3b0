import { deadLetterQueueOf } from '../broker/order-intake';
import { runMain } from './logging';
import { runOrderIntake } from './order-intake';
import { warnIfUnencrypted } from './worker-options';

/**
 * The order intake process (docs/api.md, "Starting a saga by a message"): starts an order saga for each `OrderPlaced`
 * message on ORDER_INTAKE_QUEUE until SIGINT/SIGTERM; then it stops consuming, settles the messages in hand (a start
 * in progress finishes and is acknowledged; one waiting to be requeued goes back at once), closes its connections
 * and exits 0. Several may consume the same queue.
 */
runMain('order-intake', async (config, logger) => {
  warnIfUnencrypted(config, logger);
  const stopping = new Promise<string>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
  const running = await runOrderIntake(config, logger);
  logger.info(
    { queue: config.ORDER_INTAKE_QUEUE, deadLetterQueue: deadLetterQueueOf(config.ORDER_INTAKE_QUEUE) },
    `Order intake starting order sagas on task queue '${config.TASK_QUEUE}' from ${config.ORDER_INTAKE_QUEUE}`,
  );
  const signal = await stopping;
  logger.info(`${signal}: settling the messages in hand`);
  await running.stop();
  logger.info('Order intake stopped');
});

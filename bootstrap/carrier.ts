import type { Client } from '@temporalio/client';
import { connectBroker, type Broker } from '../broker/connection';
import { startBrokerCarrier, type BrokerCarrier } from '../workers/carrier-replies';
import type { ServiceConfig } from './config';
import type { Logger } from './logging';

/**
 * The worker's side of the broker carrier when CARRIER=broker (the worker process, the API's embedded worker): a
 * RabbitMQ connection, the command link the activities send through and the consumer of this task queue's replies.
 * Undefined with CARRIER=in-process: nothing is connected.
 */
export async function connectCarrier(
  config: ServiceConfig,
  client: Client,
  logger: Logger,
): Promise<(BrokerCarrier & { broker: Broker; close(): Promise<void> }) | undefined> {
  if (config.CARRIER !== 'broker') return undefined;
  const broker = await connectBroker({ url: config.AMQP_URL, logger, connectionName: 'worker-carrier' });
  try {
    const carrier = await startBrokerCarrier({
      broker,
      client,
      taskQueue: config.TASK_QUEUE,
      commandQueue: config.CARRIER_COMMAND_QUEUE,
      replyTimeoutSeconds: config.CARRIER_REPLY_TIMEOUT_SECONDS,
      attempts: config.CARRIER_REPLY_ATTEMPTS,
      logger,
    });
    logger.info(
      { commandQueue: config.CARRIER_COMMAND_QUEUE, replyTimeoutSeconds: config.CARRIER_REPLY_TIMEOUT_SECONDS },
      `CARRIER=broker: new order sagas send shipment commands to '${config.CARRIER_COMMAND_QUEUE}'`,
    );
    return {
      ...carrier,
      broker,
      async close() {
        await carrier.stop();
        await broker.close();
      },
    };
  } catch (err) {
    await broker.close();
    throw err;
  }
}

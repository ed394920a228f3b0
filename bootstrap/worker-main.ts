// First: tracing (when OTEL_* asks for it) must start before mongodb loads.
import { tracing } from './tracing-worker';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { connectMongo } from '../store/db';
import { createSagaWorker } from '../workers/create-worker';
import { sagaDataConverter } from '../codec/data-converter';
import { LoggedError, runMain } from './logging';
import { installRuntime } from './telemetry';
import { connectDraining } from './temporal-connection';
import { connectCarrier } from './carrier';
import { workerTracing } from './tracing';
import { warnIfFaultsInjected, warnIfUnencrypted, workerOptionsFromConfig } from './worker-options';

/**
 * The saga worker: polls the task queue until SIGINT/SIGTERM, then stops polling, lets running activities finish
 * (up to WORKER_SHUTDOWN_GRACE_SECONDS), closes its connections and exits 0.
 */
runMain('worker', async (config, logger) => {
  warnIfUnencrypted(config, logger);
  const traced = workerTracing(config, tracing);
  installRuntime(config, logger); // before the first connection
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await connectDraining({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({
    connection: clientConnection.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: sagaDataConverter(config.payloadKeyRing),
    ...(tracing ? { interceptors: tracing.clientInterceptors() } : {}),
  });
  // CARRIER=broker: the shipment commands' link and this task queue's reply consumer (docs/sagas.md).
  const carrier = await connectCarrier(config, temporal, logger);
  try {
    const worker = await createSagaWorker({
      ...workerOptionsFromConfig(config),
      connection,
      db,
      temporal,
      ...(carrier ? { carrier: carrier.link } : {}),
      ...(traced ? { tracing: traced } : {}),
    });
    warnIfFaultsInjected(config.faults, logger);
    // The SDK's Runtime listens for SIGINT/SIGTERM/SIGQUIT/SIGUSR2 (since the connection above) and shuts the
    // worker down: it stops polling, lets running activities finish for up to WORKER_SHUTDOWN_GRACE_SECONDS, and
    // `run()` resolves. This line goes before the one that says the worker polls, so a signal sent on reading
    // that one is logged too.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => logger.info(`${signal}: no new tasks; letting running activities finish`));
    }
    logger.info(
      { taskQueue: config.TASK_QUEUE, temporalAddress: config.TEMPORAL_ADDRESS },
      `Worker polling task queue '${config.TASK_QUEUE}' on ${config.TEMPORAL_ADDRESS}`,
    );
    // The SDK logs why the worker failed ("Worker failed", with the error).
    await worker.run().catch(() => {
      throw new LoggedError('Worker failed');
    });
    logger.info('Worker stopped');
  } finally {
    await carrier?.close(); // replies not yet acknowledged stay queued for the next worker
    await clientConnection.close();
    await connection.close();
    await client.close();
    await tracing?.shutdown(); // the spans still buffered
  }
});

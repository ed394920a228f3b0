// First: tracing (when OTEL_* asks for it) must start before http, express and mongodb load.
import { tracing } from './tracing-api';
import { LoggedError, runMain } from './logging';
import { startApi } from './start-api';
import { warnIfFaultsInjected, warnIfUnencrypted } from './worker-options';

/**
 * The API process. On SIGTERM/SIGINT it stops accepting connections, finishes in-flight requests (event
 * streams end), closes its clients and exits 0; after API_SHUTDOWN_GRACE_SECONDS, or on a second signal, it
 * exits 1 at once. With API_EMBEDDED_WORKER=true it also runs a saga worker, drained after the requests
 * (running activities get WORKER_SHUTDOWN_GRACE_SECONDS).
 */
runMain('api', async (config, logger) => {
  warnIfUnencrypted(config, logger);
  if (config.API_AUTH === 'off') {
    logger.warn('WARNING: API_AUTH=off: the API checks no credential; anyone who reaches it may do anything');
  }
  // The handlers are in place before the API listens (and before it says so): a SIGTERM sent as soon as the
  // "listening" line is read must drain, not kill the process with the signal's default action.
  const running: { api?: Awaited<ReturnType<typeof startApi>> } = {};
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    const { api } = running;
    if (!api) {
      // Not listening yet: nothing was accepted, nothing to drain.
      logger.info(`${signal} before the API started: exiting`);
      process.exit(0);
    }
    logger.info(`${signal}: finishing in-flight requests`);
    // The embedded worker drains after the requests: its grace time comes on top.
    const graceSeconds =
      config.API_SHUTDOWN_GRACE_SECONDS + (api.embeddedWorker ? config.WORKER_SHUTDOWN_GRACE_SECONDS : 0);
    const force = setTimeout(() => {
      logger.error(`still stopping after ${graceSeconds}s: exiting`);
      process.exit(1);
    }, graceSeconds * 1000);
    force.unref();
    api.stop().then(
      () => {
        logger.info('API stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'stopping the API failed: exiting');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const api = (running.api = await startApi(config, logger, tracing));
  const host = config.HOST === '0.0.0.0' ? 'localhost' : config.HOST;
  logger.info({ port: api.port }, `API listening on http://${host}:${api.port}`);
  if (api.embeddedWorker) {
    warnIfFaultsInjected(config.faults, logger);
    logger.info(
      { taskQueue: config.TASK_QUEUE },
      `Embedded worker polling task queue '${config.TASK_QUEUE}'; sagas start eagerly`,
    );
    // A failed embedded worker leaves the API unable to run what it starts here: exit, let the supervisor restart.
    // The SDK logs why ("Worker failed", with the error).
    await api.embeddedWorker.catch(() => {
      throw new LoggedError('Embedded worker failed');
    });
  }
});

// First: tracing (when OTEL_* asks for it) must start before http, express and mongodb load.
import { tracing } from './tracing-api';
import { loadServiceConfig } from './config';
import { startApi } from './start-api';
import { warnIfFaultsInjected, warnIfUnencrypted } from './worker-options';

/**
 * The API process. On SIGTERM/SIGINT it stops accepting connections, finishes in-flight requests (event
 * streams end), closes its clients and exits 0; after API_SHUTDOWN_GRACE_SECONDS, or on a second signal, it
 * exits 1 at once. With API_EMBEDDED_WORKER=true it also runs a saga worker, drained after the requests
 * (running activities get WORKER_SHUTDOWN_GRACE_SECONDS).
 */
async function run(): Promise<void> {
  const config = loadServiceConfig();
  warnIfUnencrypted(config);
  if (config.API_AUTH === 'off') {
    console.warn('WARNING: API_AUTH=off: the API checks no credential; anyone who reaches it may do anything');
  }
  // The handlers are in place before the API listens (and before it says so): a SIGTERM sent as soon as the
  // "listening" line is read must drain, not kill the process with the signal's default action.
  const running: { api?: Awaited<ReturnType<typeof startApi>> } = {};
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    const { api } = running;
    if (!api) {
      // Not listening yet: nothing was accepted, nothing to drain.
      console.log(`${signal} before the API started: exiting`);
      process.exit(0);
    }
    console.log(`${signal}: finishing in-flight requests`);
    // The embedded worker drains after the requests: its grace time comes on top.
    const graceSeconds =
      config.API_SHUTDOWN_GRACE_SECONDS + (api.embeddedWorker ? config.WORKER_SHUTDOWN_GRACE_SECONDS : 0);
    const force = setTimeout(() => {
      console.error(`still stopping after ${graceSeconds}s: exiting`);
      process.exit(1);
    }, graceSeconds * 1000);
    force.unref();
    api.stop().then(
      () => {
        console.log('API stopped');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const api = (running.api = await startApi(config, tracing));
  console.log(`API listening on http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${api.port}`);
  if (api.embeddedWorker) {
    warnIfFaultsInjected(config.faults);
    console.log(`Embedded worker polling task queue '${config.TASK_QUEUE}'; sagas start eagerly`);
    // A failed embedded worker leaves the API unable to run what it starts here: exit, let the supervisor restart.
    api.embeddedWorker.catch((err: unknown) => {
      console.error(`Embedded worker failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
  }
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

import { loadConfig } from '../common/config';
import { startApi } from './server';

/**
 * The API process. On SIGTERM/SIGINT it stops accepting connections, finishes in-flight requests (event
 * streams end), closes its clients and exits 0; after API_SHUTDOWN_GRACE_SECONDS, or on a second signal, it
 * exits 1 at once.
 */
async function run(): Promise<void> {
  const config = loadConfig();
  const api = await startApi(config);
  console.log(`API listening on http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${api.port}`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: finishing in-flight requests`);
    const force = setTimeout(() => {
      console.error(`requests still in flight after ${config.API_SHUTDOWN_GRACE_SECONDS}s: exiting`);
      process.exit(1);
    }, config.API_SHUTDOWN_GRACE_SECONDS * 1000);
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
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

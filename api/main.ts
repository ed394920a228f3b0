import { loadConfig } from '../common/config';
import { startApi } from './server';

/** The API process: listens until SIGINT/SIGTERM, then finishes in-flight requests and exits. */
async function run(): Promise<void> {
  const config = loadConfig();
  const api = await startApi(config);
  console.log(`API listening on http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${api.port}`);
  const shutdown = (signal: string) => {
    console.log(`${signal}: finishing in-flight requests`);
    api.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

/**
 * `npm run temporal-server`: the Temporal server itself (cmd/server v1.31.0, the version of docker-compose.yml's
 * image) on PostgreSQL from the distribution, 4 history shards, set up as docker-compose.yml sets it up, without
 * Docker. Runs in the foreground until Ctrl-C; point the service or the tests at it with TEMPORAL_ADDRESS:
 *
 *   npm run temporal-server                       # .data/temporal-server/, frontend on 127.0.0.1:7233
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 npm start     # our service on it (FerretDB, worker, API; no dev server)
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 npx tsx scripts/test.ts test/e2e
 *
 * Options: --dir DIR (data directory, reused on the next start; default .data/temporal-server), --port N
 * (frontend gRPC, default 7233), --postgres-port N (default 5433), --shards N (default 4; fixed when DIR is first
 * set up), --metrics-port N (the server's Prometheus metrics; default off).
 * Needs `bash scripts/setup.sh --temporal-server` (the server and its SQL tool, built from their Go module) and
 * PostgreSQL (`bash bench/setup.sh` installs Debian's).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { onShutdownSignal, repoRoot, stopAll } from './lib/servers';
import { startTemporalServer, TEMPORAL_SERVER_VERSION, TEMPORAL_SERVER_DYNAMIC_CONFIG } from './lib/temporal-server';

const log = (line: string) => console.log(`temporal-server: ${line}`);

function whole(flag: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) throw new Error(`--${flag} takes a number`);
  return Number(raw);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      'postgres-port': { type: 'string' },
      shards: { type: 'string' },
      'metrics-port': { type: 'string' },
    },
  });
  const dir = path.resolve(values.dir ?? path.join(repoRoot, '.data', 'temporal-server'));
  const metricsPort =
    values['metrics-port'] === undefined ? undefined : whole('metrics-port', values['metrics-port'], 0);
  let stopRequested: () => void = () => undefined;
  const stopping = new Promise<void>((resolve) => (stopRequested = resolve));
  onShutdownSignal((signal) => {
    log(`${signal}: stopping`);
    stopRequested();
  });
  log(`starting Temporal server ${TEMPORAL_SERVER_VERSION} and PostgreSQL in ${path.relative(repoRoot, dir) || dir}`);
  const server = await startTemporalServer(
    {
      dir,
      port: whole('port', values.port, 7233),
      postgresPort: whole('postgres-port', values['postgres-port'], 5433),
      shards: whole('shards', values.shards, 4),
      ...(metricsPort !== undefined ? { metricsPort } : {}),
    },
    log,
  );
  log(`ready: TEMPORAL_ADDRESS=${server.address} (namespace default, our search attributes registered)`);
  log(
    `dynamic config ${path.relative(repoRoot, TEMPORAL_SERVER_DYNAMIC_CONFIG)}; logs in ${path.relative(repoRoot, dir)}`,
  );
  const exited = Promise.race([server.process.exited, server.postgres.process.exited]).then(() => 'exited' as const);
  const why = await Promise.race([stopping.then(() => 'stop' as const), exited]);
  if (why === 'exited') log('the server or PostgreSQL exited unexpectedly: stopping');
  await server.stop();
  return why === 'stop' ? 0 : 1;
}

void main()
  .catch((err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  })
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  });

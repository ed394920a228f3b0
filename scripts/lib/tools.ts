/** Where things are: the repository, the tool binaries, the environment variables the scripts pass on. */
import fs from 'node:fs';
import path from 'node:path';

/** Repository root (this file is scripts/lib/tools.ts). */
export const repoRoot = path.resolve(__dirname, '..', '..');

/** Names of the environment variables the scripts read and pass on to the worker, API and tests. */
export const ENV = {
  /** Temporal frontend gRPC address, host:port. */
  temporalAddress: 'TEMPORAL_ADDRESS',
  /** MongoDB connection string. */
  mongodbUri: 'MONGODB_URI',
  /** MongoDB database name. */
  mongodbDb: 'MONGODB_DB',
  /** Temporal Web UI base URL. */
  temporalUiUrl: 'TEMPORAL_UI_URL',
  /** Absolute path of the `temporal` CLI binary. */
  temporalCli: 'TEMPORAL_CLI',
  /** Absolute path of the `temporal-test-server` binary (time-skipping test server). */
  temporalTestServer: 'TEMPORAL_TEST_SERVER',
  /** RabbitMQ's AMQP URL, amqp://user:password@host:port[/vhost]. */
  amqpUrl: 'AMQP_URL',
} as const;

const ours = path.join(repoRoot, '.tools');
/** Where Debian's rabbitmq-server package puts the server's scripts; RABBITMQ_BIN_DIR names another. */
const rabbitmqBinDir = process.env.RABBITMQ_BIN_DIR || '/usr/lib/rabbitmq/bin';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The user's own `temporal` on PATH wins over ours (our venv's, should it be on PATH, is ours). */
const theirTemporal = onPath('temporal');

/**
 * Absolute paths of the tool binaries: `temporal` is the user's when one is on PATH, else the pinned one that
 * scripts/setup.sh installs into .tools/ (installed either way: the test server comes with it). A path may not
 * exist (set-up not run): starting a server then fails saying so.
 */
export const tools = {
  temporal:
    theirTemporal && !theirTemporal.startsWith(ours) ? theirTemporal : path.join(ours, 'venv', 'bin', 'temporal'),
  temporalTestServer: path.join(ours, 'venv', 'bin', 'temporal-test-server'),
  ferretdb: path.join(ours, 'bin', 'ferretdb'),
  /** Jaeger v2 (scripts/setup.sh builds it); JAEGER_BIN names a binary of your own instead. */
  jaeger: process.env.JAEGER_BIN || path.join(ours, 'bin', 'jaeger'),
  /**
   * RabbitMQ from Debian's `rabbitmq-server` package (scripts/setup.sh installs it): the scripts under
   * /usr/lib/rabbitmq/bin, not /usr/sbin's wrapper, which switches to the `rabbitmq` user (field notes).
   */
  rabbitmqServer: path.join(rabbitmqBinDir, 'rabbitmq-server'),
  rabbitmqctl: path.join(rabbitmqBinDir, 'rabbitmqctl'),
} as const;

export function requireTool(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new Error(`${what} not found at ${file}: run \`npm run setup\` first`);
}

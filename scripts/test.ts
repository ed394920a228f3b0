/**
 * `npm test`: starts a throwaway Temporal dev server (in memory), FerretDB and RabbitMQ (fresh data dirs), runs jest
 * against them, and always stops them afterwards.
 *
 * Usage: tsx scripts/test.ts [jest args...]
 *
 * Uses the user's servers instead when TEMPORAL_ADDRESS / MONGODB_URI / AMQP_URL are set. Passes to jest:
 *   TEMPORAL_ADDRESS, MONGODB_URI, MONGODB_DB (unique per run: sagas_test_<pid>), AMQP_URL, TEMPORAL_UI_URL,
 *   TEMPORAL_CLI, TEMPORAL_TEST_SERVER (absolute paths of the binaries installed by scripts/setup.sh).
 * Server logs: .data/logs/test-temporal.log, .data/logs/test-ferretdb.log, .data/logs/test-rabbitmq.log (overwritten
 * each run). RabbitMQ runs on free ports as node sagas-test-<pid>@localhost, so that runs side by side never meet.
 * Exit code: jest's (128 + signal number if jest was killed by a signal).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import execa from 'execa';
import {
  ENV,
  freePort,
  onShutdownSignal,
  repoRoot,
  startFerretDb,
  startRabbitMq,
  startTemporalDevServer,
  stopAll,
  tools,
  type FerretDb,
  type RabbitMq,
  type TemporalDevServer,
} from './lib/servers';
import { generateKeyRingEnv } from '../codec/data-converter';

const log = (message: string) => process.stderr.write(`test: ${message}\n`);

const logDir = path.join(repoRoot, '.data', 'logs');
const dataDir = path.join(repoRoot, '.data', `test-${process.pid}`);

let signalled: NodeJS.Signals | undefined;
let forwardToJest: ((signal: NodeJS.Signals) => void) | undefined;
onShutdownSignal((signal) => {
  signalled = signal;
  log(`${signal}: stopping (again to kill at once)`);
  // jest in the terminal's process group got a Ctrl-C itself; a SIGTERM sent to us alone it did not.
  forwardToJest?.(signal);
});
process.on('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));

async function run(jestArgs: string[]): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const userTemporal = process.env[ENV.temporalAddress];
  const userMongo = process.env[ENV.mongodbUri];
  const userAmqp = process.env[ENV.amqpUrl];

  // The Web UI test serves the codec endpoint on this port (test/tools/web-ui.test.ts); no other test uses the UI.
  const codecPort = await freePort();
  env.CODEC_TEST_PORT = String(codecPort);
  const starting: [
    Promise<TemporalDevServer | undefined>,
    Promise<FerretDb | undefined>,
    Promise<RabbitMq | undefined>,
  ] = [
    userTemporal
      ? Promise.resolve(undefined)
      : (async () =>
          startTemporalDevServer({
            port: await freePort(),
            uiPort: await freePort(),
            uiCodecEndpoint: `http://127.0.0.1:${codecPort}/codec`,
            logFile: path.join(logDir, 'test-temporal.log'),
            truncateLog: true,
          }))(),
    userMongo
      ? Promise.resolve(undefined)
      : (async () =>
          startFerretDb({
            port: await freePort(),
            dataDir: path.join(dataDir, 'ferretdb'),
            logFile: path.join(logDir, 'test-ferretdb.log'),
            truncateLog: true,
          }))(),
    userAmqp
      ? Promise.resolve(undefined)
      : (async () =>
          startRabbitMq({
            port: await freePort(),
            distPort: await freePort(),
            nodeName: `sagas-test-${process.pid}`,
            dataDir: path.join(dataDir, 'rabbitmq'),
            logFile: path.join(logDir, 'test-rabbitmq.log'),
            truncateLog: true,
          }))(),
  ];
  const [temporalResult, ferretResult, rabbitResult] = await Promise.allSettled(starting);
  const failures = [temporalResult, ferretResult, rabbitResult].filter((r) => r.status === 'rejected');
  if (failures.length > 0) {
    for (const failure of failures)
      log(`could not start a server: ${(failure.reason as Error).message ?? failure.reason}`);
    return 1;
  }
  const temporal = temporalResult.status === 'fulfilled' ? temporalResult.value : undefined;
  const ferret = ferretResult.status === 'fulfilled' ? ferretResult.value : undefined;
  const rabbit = rabbitResult.status === 'fulfilled' ? rabbitResult.value : undefined;
  if (signalled) return 128 + (os.constants.signals[signalled] ?? 0);

  if (temporal) {
    env[ENV.temporalAddress] = temporal.address;
    env[ENV.temporalUiUrl] = temporal.uiUrl;
    log(`Temporal dev server (in memory) at ${temporal.address}, UI ${temporal.uiUrl}`);
  } else {
    log(`using Temporal at ${userTemporal} (TEMPORAL_ADDRESS)`);
  }
  if (ferret) {
    env[ENV.mongodbUri] = ferret.uri;
    log(`FerretDB at ${ferret.uri}, data in ${path.relative(repoRoot, dataDir)}/`);
  } else {
    log(`using MongoDB at ${userMongo} (MONGODB_URI)`);
  }
  if (rabbit) {
    env[ENV.amqpUrl] = rabbit.url;
    log(`RabbitMQ at ${rabbit.url.replace(/\/\/[^@]*@/, '//')} (node ${rabbit.node})`);
  } else {
    log('using RabbitMQ at AMQP_URL');
  }
  // Always a fresh database name, even on the user's MongoDB: tests must not touch real data.
  env[ENV.mongodbDb] = `sagas_test_${process.pid}`;
  env[ENV.temporalCli] = tools.temporal;
  // A payload key ring of the run's own (docs/security.md), unless the caller gives one or turns encryption off.
  if (!env.PAYLOAD_KEYS && env.PAYLOAD_ENCRYPTION !== 'off') Object.assign(env, generateKeyRingEnv('test-run'));
  env[ENV.temporalTestServer] = tools.temporalTestServer;

  const jestBin = path.join(repoRoot, 'node_modules', '.bin', 'jest');
  // Jest's results as JSON, for a closing 'jest: N passed, N failed' line (not in watch mode or with --json).
  const resultsFile = path.join(dataDir, 'jest-results.json');
  const summarize = !jestArgs.some((arg) => /^--(json|watch|watchAll)(=|$)/.test(arg));
  const args = summarize ? [...jestArgs, '--json', `--outputFile=${resultsFile}`] : jestArgs;
  fs.mkdirSync(dataDir, { recursive: true });
  // Not in its own process group: jest stays in the terminal's foreground group (Ctrl-C, watch mode).
  const jest = execa(jestBin, args, { cwd: repoRoot, env, extendEnv: false, stdio: 'inherit', reject: false });
  forwardToJest = (signal) => jest.kill(signal, { forceKillAfterTimeout: false }); // jest takes its time to tear down
  const result = await jest;
  forwardToJest = undefined;
  if (result instanceof Error && result.exitCode === undefined && !result.signal) {
    log(`could not run ${jestBin}: ${result.message}`);
    return 1;
  }
  if (summarize) printSummary(resultsFile);
  return result.exitCode ?? 128 + (result.signal ? (os.constants.signals[result.signal as NodeJS.Signals] ?? 0) : 0);
}

function printSummary(resultsFile: string): void {
  try {
    const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
    const count = (key: string) => (typeof results[key] === 'number' ? results[key] : 0);
    const skipped = count('numPendingTests') + count('numTodoTests');
    process.stdout.write(
      `jest: ${count('numPassedTests')} passed, ${count('numFailedTests')} failed` +
        (skipped > 0 ? `, ${skipped} skipped` : '') +
        '\n',
    );
  } catch {
    // jest wrote no results (it failed before running tests): its own output says why
  }
}

async function main(): Promise<void> {
  let code = 1;
  try {
    code = await run(process.argv.slice(2));
  } catch (err) {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await stopAll();
  }
  process.exit(code); // the exit hook removes the data folder
}

void main();

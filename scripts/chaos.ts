/**
 * `npm run chaos -- --sagas 300 --kills 3 [--restarts 2] [--broker-restarts 1] [--carrier-kills 1]
 *   [--carrier broker|in-process] [--seed N] [--faults SPEC] [--downtime MS]`
 *
 * Starts its own servers on free ports (a file-backed Temporal dev server, so that it can be restarted on the same
 * database file, FerretDB and RabbitMQ), the outbox relay, the webhook dispatcher and (CARRIER=broker, the
 * default) the carrier process as child processes, RabbitMQ restarted `--broker-restarts` times and the carrier
 * SIGKILLed `--carrier-kills` times (docs/faults.md), runs the chaos scenario (scripts/lib/chaos.ts): concurrent order sagas with random
 * business failures and random transient faults (SAGA_FAULTS), the worker process killed with SIGKILL `--kills`
 * times, the servers restarted `--restarts` times (alternately Temporal, FerretDB), then prints a table and checks
 * the participants' data against the sagas' outcomes. Exit code 0 when every saga is final and every invariant
 * holds, 1 otherwise. Data in .data/chaos-<pid>/ (removed at the end); logs in .data/logs/chaos-*.log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { parseFaultSpec } from '../workers/interceptors/fault-injection';
import { failureConverterPath, generateKeyRingEnv } from '../codec/data-converter';
import { workflowInterceptorModules, workflowsPath } from '../workers/create-worker';
import { chaosTable, DEFAULT_CHAOS_FAULTS, runChaos, type RestartableServer } from './lib/chaos';
import { freePort, repoRoot, startFerretDb, startRabbitMq, startTemporalDevServer, stopAll } from './lib/servers';

const log = (message: string) => process.stderr.write(`chaos: ${message}\n`);

function count(name: string, raw: string | undefined, fallback: number, max: number, min = 0): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sagas: { type: 'string' },
      kills: { type: 'string' },
      restarts: { type: 'string' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      downtime: { type: 'string' },
      'broker-restarts': { type: 'string' },
      'carrier-kills': { type: 'string' },
      carrier: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run chaos -- [--sagas 300] [--kills 3] [--restarts 2] [--broker-restarts 1] [--carrier-kills 1]\n' +
        '  [--carrier broker|in-process] [--seed N] [--faults SPEC] [--downtime 3000]\n',
    );
    return 0;
  }
  const sagas = count('sagas', values.sagas, 300, 5000, 1);
  const kills = count('kills', values.kills, 3, 100);
  const restarts = count('restarts', values.restarts, 2, 100);
  const brokerRestarts = count('broker-restarts', values['broker-restarts'], 1, 100);
  const carrier = values.carrier ?? 'broker';
  if (carrier !== 'broker' && carrier !== 'in-process') throw new Error('--carrier must be broker or in-process');
  const carrierKills = count('carrier-kills', values['carrier-kills'], carrier === 'broker' ? 1 : 0, 100);
  if (carrier === 'in-process' && carrierKills > 0) throw new Error('--carrier-kills needs --carrier broker');
  const downtimeMs = count('downtime', values.downtime, 3000, 60_000);
  const seed = count('seed', values.seed, Date.now() % 1_000_000_007, Number.MAX_SAFE_INTEGER);
  const faults = values.faults ?? DEFAULT_CHAOS_FAULTS;
  try {
    parseFaultSpec(faults); // fail now, not in the worker
  } catch (err) {
    throw new Error(`--faults: ${(err as Error).message}`);
  }

  // A key ring of the run's own, for this process's client and the workers it starts (unless one is given).
  if (!process.env.PAYLOAD_KEYS && process.env.PAYLOAD_ENCRYPTION !== 'off')
    Object.assign(process.env, generateKeyRingEnv('chaos'));
  const dataDir = path.join(repoRoot, '.data', `chaos-${process.pid}`);
  const logDir = path.join(repoRoot, '.data', 'logs');
  try {
    log('starting servers and bundling the workflows');
    const [bundle, temporal, ferret, rabbit] = await Promise.all([
      bundleWorkflowCode({
        workflowsPath,
        workflowInterceptorModules,
        failureConverterPath,
        logger: quietLogger,
      }),
      startTemporalDevServer({
        port: await freePort(),
        uiPort: await freePort(),
        dbFile: path.join(dataDir, 'temporal.db'),
        logFile: path.join(logDir, 'chaos-temporal.log'),
        truncateLog: true,
      }),
      startFerretDb({
        port: await freePort(),
        dataDir: path.join(dataDir, 'ferretdb'),
        logFile: path.join(logDir, 'chaos-ferretdb.log'),
        truncateLog: true,
      }),
      startRabbitMq({
        port: await freePort(),
        distPort: await freePort(),
        nodeName: `sagas-chaos-${process.pid}`,
        dataDir: path.join(dataDir, 'rabbitmq'),
        logFile: path.join(logDir, 'chaos-rabbitmq.log'),
        truncateLog: true,
      }),
    ]);
    const bundlePath = path.join(dataDir, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, bundle.code);
    log(
      `Temporal ${temporal.address} (UI ${temporal.uiUrl}), FerretDB ${ferret.uri}, RabbitMQ ${rabbit.url}; seed ${seed}`,
    );

    const servers: RestartableServer[] = [
      { name: 'Temporal dev server', restart: (downtime) => temporal.restart(downtime) },
      { name: 'FerretDB', restart: (downtime) => ferret.restart(downtime) },
    ];
    const result = await runChaos({
      temporalAddress: temporal.address,
      mongoUri: ferret.uri,
      dbName: 'chaos',
      taskQueue: `chaos-${process.pid}`,
      sagas,
      kills,
      faults,
      serverRestarts: restarts,
      servers,
      downtimeMs,
      workflowBundlePath: bundlePath,
      logDir,
      seed,
      log,
      edge: {
        amqpUrl: rabbit.url,
        carrier,
        carrierKills,
        brokerRestarts,
        broker: { name: 'RabbitMQ', restart: (downtime) => rabbit.restart(downtime) },
      },
    });
    process.stdout.write(`\n${chaosTable(result)}\n`);
    const ok = result.stillRunning === 0 && result.failed === 0 && result.invariants.failed === 0;
    log(ok ? 'every saga final, every invariant holds' : 'NOT OK: see the table');
    return ok ? 0 : 1;
  } finally {
    await stopAll();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => log(message),
  error: (message: string) => log(message),
};

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

/**
 * `npm run failure-matrix`: every saga definition's failure matrix (docs/failure-matrix.md): every step × failure
 * kind run as a real saga and checked (scripts/lib/failure-matrix/), on a Temporal dev server (in memory) and a
 * FerretDB it starts itself, or on TEMPORAL_ADDRESS / MONGODB_URI when set (a database of its own either way).
 *
 * Usage: tsx scripts/failure-matrix.ts [--type order|transport-order] [--kinds business,retries,timeout,cancel,kill]
 *
 * Prints per saga type a table step × failure kind (✓ shown, ✗ failed with why, n/a with why) and its coverage
 * (cells shown / cells applicable); progress on stderr. Exit code 1 if any cell failed.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyRingEnv } from '../codec/data-converter';
import { generateApiKey } from '../store/api-keys';
import type { SagaType } from '../common/domain-events';
import {
  ENV,
  freePort,
  onShutdownSignal,
  repoRoot,
  startFerretDb,
  startTemporalDevServer,
  stopAll,
} from './lib/servers';
import { failureKinds, type FailureKind } from './lib/failure-matrix/cells';
import { formatMatrix, matrixCells, runMatrix, sagaTypes, startMatrixHarness } from './lib/failure-matrix';

const log = (message: string) => process.stderr.write(`failure-matrix: ${message}\n`);

async function run(): Promise<number> {
  const { values } = parseArgs({ options: { type: { type: 'string' }, kinds: { type: 'string' } } });
  const types = values.type === undefined ? sagaTypes : [values.type as SagaType];
  for (const t of types)
    if (!sagaTypes.includes(t)) throw new Error(`--type: no saga type ${t} (${sagaTypes.join(', ')})`);
  const kinds = values.kinds === undefined ? failureKinds : (values.kinds.split(',') as FailureKind[]);
  for (const k of kinds) {
    if (!failureKinds.includes(k)) throw new Error(`--kinds: no failure kind ${k} (${failureKinds.join(', ')})`);
  }

  const logDir = path.join(repoRoot, '.data', 'logs');
  if (!process.env[ENV.temporalAddress]) {
    const temporal = await startTemporalDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      logFile: path.join(logDir, 'failure-matrix-temporal.log'),
      truncateLog: true,
    });
    process.env[ENV.temporalAddress] = temporal.address;
    log(`Temporal dev server (in memory) at ${temporal.address}`);
  }
  if (!process.env[ENV.mongodbUri]) {
    const ferret = await startFerretDb({
      port: await freePort(),
      dataDir: path.join(repoRoot, '.data', `failure-matrix-${process.pid}`, 'ferretdb'),
      logFile: path.join(logDir, 'failure-matrix-ferretdb.log'),
      truncateLog: true,
    });
    process.env[ENV.mongodbUri] = ferret.uri;
    log(`FerretDB at ${ferret.uri}`);
  }
  process.env[ENV.mongodbDb] = `sagas_matrix_${process.pid}`;
  process.env.TEST_API_KEY ??= generateApiKey().key;
  if (!process.env.PAYLOAD_KEYS && process.env.PAYLOAD_ENCRYPTION !== 'off') {
    Object.assign(process.env, generateKeyRingEnv('failure-matrix'));
  }

  const began = Date.now();
  const m = await startMatrixHarness();
  let failed = 0;
  try {
    for (const sagaType of types) {
      const cells = matrixCells(sagaType, kinds);
      let done = 0;
      const outcomes = await runMatrix(m, sagaType, cells, (o) => {
        done++;
        const took = o.result === 'n/a' ? '' : ` (${(o.ms / 1000).toFixed(1)} s)`;
        const what = o.result === 'shown' ? '✓' : o.result === 'n/a' ? 'n/a' : `✗ ${o.why}`;
        log(`${sagaType}: ${done}/${cells.length} ${o.cell.row.name} × ${o.cell.kind}: ${what}${took}`);
      });
      failed += outcomes.filter((o) => o.result === 'failed').length;
      process.stdout.write(`${formatMatrix(sagaType, kinds, outcomes)}\n\n`);
    }
  } finally {
    await m.stop();
  }
  process.stdout.write(
    `${failed === 0 ? 'every applicable cell shown' : `${failed} cell(s) failed`}; ${Math.round((Date.now() - began) / 1000)} s\n`,
  );
  return failed === 0 ? 0 : 1;
}

onShutdownSignal(() => {
  void stopAll().then(() => process.exit(130));
});

run()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    console.error(err);
    await stopAll();
    process.exit(1);
  });

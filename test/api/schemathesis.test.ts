import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, repoRoot, startTemporalDevServer, type TemporalDevServer } from '../../scripts/lib/servers';
import { addVehicle, seed } from '../support/fixtures';
import { startHarness, testApiKey, type Harness } from '../support/harness';

/**
 * schemathesis (installed into .tools/ by scripts/setup.sh) fuzzes the running API from the document it serves,
 * every check on, stateful phase included: no 5xx, no document-valid request refused, no document-invalid request
 * accepted, every answer's status, headers and body as documented. Its settings, and why each is what it is:
 * test/api/schemathesis.toml, beside this file. Bounded: `--max-time` below (SCHEMATHESIS_MAX_TIME, default 120 s),
 * about two minutes on 2 cores. Its whole output: .data/schemathesis/output.txt.
 */
const schemathesis = path.join(repoRoot, '.tools', 'schemathesis-venv', 'bin', 'schemathesis');
const MAX_TIME_SECONDS = Number(process.env.SCHEMATHESIS_MAX_TIME ?? 120);

let h: Harness;
let temporal: TemporalDevServer | undefined;
const sharedTemporal = process.env.TEMPORAL_ADDRESS;

beforeAll(async () => {
  // A Temporal server of its own: `GET /orders` lists every order saga of the namespace, and those of other test
  // files (whose workers are gone) would answer 503 to the queries the fuzzer then sends.
  temporal = await startTemporalDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    logFile: path.join(repoRoot, '.data', 'logs', `test-schemathesis-temporal-${process.pid}.log`),
    truncateLog: true,
  });
  process.env.TEMPORAL_ADDRESS = temporal.address;
  h = await startHarness('schemathesis');
  // Something for the links of the stateful phase to find.
  await addVehicle(h, 1000);
  await seed(h);
});
afterAll(async () => {
  await h?.stop();
  await temporal?.stop();
  process.env.TEMPORAL_ADDRESS = sharedTemporal;
});

/** Runs schemathesis in `cwd` (where it keeps its cache, `.schemathesis/`). */
function run(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(schemathesis, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

test(
  'schemathesis finds nothing: every check, every phase, stateful included',
  async () => {
    expect(existsSync(schemathesis)).toBe(true); // `npm test` runs scripts/setup.sh, which installs it
    const reportDir = path.join(repoRoot, '.data', 'schemathesis');
    mkdirSync(reportDir, { recursive: true });
    const { code, output } = await run(
      [
        '--config-file',
        path.join(__dirname, 'schemathesis.toml'),
        'run',
        `${h.baseUrl}/openapi.json`,
        // The run's all-roles key, so that every operation is exercised past authentication.
        '--header',
        `Authorization: Bearer ${testApiKey()}`,
        '--checks',
        'all',
        '--phases',
        'examples,coverage,fuzzing,stateful',
        '--max-time',
        String(MAX_TIME_SECONDS),
        '--report',
        'junit',
        '--report-dir',
        reportDir,
      ],
      reportDir,
    );
    writeFileSync(path.join(reportDir, 'output.txt'), output);
    if (code !== 0) console.error(output);
    // Every phase ran (none skipped for want of a document it could read), and found nothing.
    for (const phase of ['Coverage', 'Fuzzing', 'Stateful']) expect(output).toMatch(new RegExp(`✅ +${phase} \\(in `));
    expect(code).toBe(0);
  },
  (MAX_TIME_SECONDS + 120) * 1000,
);

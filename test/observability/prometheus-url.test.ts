import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import execa from 'execa';
import { freePort, repoRoot, spawnManaged, type ManagedProcess } from '../../scripts/lib/servers';
import { eventually } from '../api/support';

/**
 * PROMETHEUS_URL: the metrics test against a Prometheus that is not its own. A Prometheus is started here the way a
 * user runs theirs, with the shipped job (observability/prometheus/test-targets.yml) pointing at a directory; then
 * test/observability/prometheus.test.ts runs in a jest of its own with PROMETHEUS_URL and PROMETHEUS_SD_DIR, and
 * with no Prometheus binary it could start. It passes, and that Prometheus holds the sagas it counted.
 */
const prometheusBin = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prometheus-url-test-'));
const sdDir = path.join(dir, 'sd');
let prometheus: ManagedProcess;
let prometheusUrl: string;

beforeAll(async () => {
  fs.mkdirSync(sdDir);
  const job = fs.readFileSync(path.join(repoRoot, 'observability/prometheus/test-targets.yml'), 'utf8');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), job.replaceAll('SD_DIR', sdDir));
  const port = await freePort();
  prometheus = spawnManaged(
    'prometheus',
    prometheusBin,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { logFile: path.join(dir, 'prometheus.log'), truncateLog: true },
  );
  prometheusUrl = `http://127.0.0.1:${port}`;
  await eventually(
    () =>
      fetch(`${prometheusUrl}/-/ready`).then(
        (r) => r.status,
        () => 0,
      ),
    (status) => status === 200,
    30_000,
    'Prometheus ready',
  );
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the metrics test passes against the Prometheus PROMETHEUS_URL names, which then holds its counts', async () => {
  const run = await execa(
    path.join(repoRoot, 'node_modules/.bin/jest'),
    ['--ci', '--colors=false', 'test/observability/prometheus.test.ts'],
    {
      cwd: repoRoot,
      reject: false,
      all: true,
      env: {
        PROMETHEUS_URL: `${prometheusUrl}/`,
        PROMETHEUS_SD_DIR: sdDir,
        PROMETHEUS_BIN: path.join(dir, 'no-such-prometheus'),
      },
    },
  );
  expect([run.exitCode, run.exitCode === 0 ? '' : run.all]).toEqual([0, '']);
  const res = await fetch(
    `${prometheusUrl}/api/v1/query?query=${encodeURIComponent('sum(last_over_time(saga_finished{test_run=~".+"}[10m]))')}`,
  );
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  // The six sagas of prometheus.test.ts (3 completed, 2 compensated, 1 failed), as last scraped: the run removed its
  // targets when it ended, so its series are stale now.
  expect(Number(body.data.result[0]?.value[1])).toBe(6);
}, 300_000);

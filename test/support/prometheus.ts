import fs from 'node:fs';
import path from 'node:path';
import { freePort, repoRoot, spawnManaged } from '../../scripts/lib/servers';
import { eventually } from '../api/support';

/** Debian's prometheus unless PROMETHEUS_BIN names another (scripts/setup.sh installs it). */
export const prometheusBin = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';

/**
 * A Prometheus on a free port with the shipped test job (observability/prometheus/test-targets.yml): it scrapes
 * the targets named in files under `sdDir`, each second, with the credential in `sdDir/metrics-key`. Its
 * configuration, data and log go to `dir`. Resolves once it is ready.
 */
export async function startTestPrometheus(dir: string, sdDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  fs.mkdirSync(sdDir, { recursive: true });
  const job = fs.readFileSync(path.join(repoRoot, 'observability/prometheus/test-targets.yml'), 'utf8');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), job.replaceAll('SD_DIR', sdDir));
  const port = await freePort();
  const prometheus = spawnManaged(
    'prometheus',
    prometheusBin,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { logFile: path.join(dir, 'prometheus.log'), truncateLog: true },
  );
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    () =>
      fetch(`${url}/-/ready`).then(
        (r) => r.status,
        () => 0,
      ),
    (status) => status === 200,
    30_000,
    'Prometheus ready',
  );
  return {
    url,
    stop: async () => {
      await prometheus.stop();
    },
  };
}

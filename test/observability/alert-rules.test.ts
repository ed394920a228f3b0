import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../scripts/lib/servers';

/** The alerting rules shipped for Prometheus (observability/prometheus/), checked as CI runs `npm test`. */
const promtool = process.env.PROMTOOL_BIN || '/usr/bin/promtool'; // installed by scripts/setup.sh
const dir = path.join(repoRoot, 'observability', 'prometheus');
const run = (...args: string[]) => execFileSync(promtool, args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });

test('the alerting rules are valid for promtool', () => {
  expect(run('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
});

test('each alert fires on the series that should fire it, and stays quiet before its `for`', () => {
  expect(run('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
});

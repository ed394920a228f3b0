import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiKeyAuthenticator } from '../../api/auth';
import { loadConfig } from '../../common/config';
import { devApiKey } from '../../scripts/lib/dev-api-key';
import { repoRoot } from '../../scripts/lib/servers';
import { apiKeys, hashApiKey } from '../../store/api-keys';
import { seed, type Seeded } from '../support/fixtures';
import { http, requireEnv, startHarness, type Harness } from '../support/harness';
import { tsx } from './support';

let h: Harness;
let s: Seeded;
beforeAll(async () => {
  h = await startHarness('apikeycmd');
  s = await seed(h);
});
afterAll(async () => {
  await h?.stop();
});

/** `npm run api-key -- …` against the harness's database: exit code, stdout, stderr. */
async function apiKey(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH, MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: h.db.databaseName };
  try {
    const { stdout, stderr } = await promisify(execFile)(tsx, ['scripts/api-key.ts', ...args], { cwd: repoRoot, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('create prints a key once and stores its hash; list shows it; revoke stops it within a second', async () => {
  const created = await apiKey('create', '--name', 'ci-reader', '--role', 'reader');
  expect(created.code).toBe(0);
  const key = created.stdout.trim();
  expect(key).toMatch(/^sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  const id = key.split('_')[1]!;
  expect(await apiKeys(h.db).findOne({ _id: id })).toMatchObject({ name: 'ci-reader', hash: hashApiKey(key) });

  const auth = { authorization: `Bearer ${key}` };
  expect((await http(h.baseUrl, 'GET', `/customers/${s.customerId}`, undefined, auth)).status).toBe(200);
  expect((await http(h.baseUrl, 'POST', '/parcels', { weightKg: 1 }, auth)).status).toBe(403);

  const listed = await apiKey('list');
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(new RegExp(`^${id}\\tci-reader\\treader\\t\\S+\\tactive$`, 'm'));
  expect(listed.stdout).not.toContain(key.slice(-43));
  expect(listed.stdout).not.toContain(hashApiKey(key));

  const revoked = await apiKey('revoke', id);
  expect(revoked.code).toBe(0);
  const at = Date.now();
  let status = 200;
  while (status === 200 && Date.now() - at < 3_000) {
    status = (await http(h.baseUrl, 'GET', `/customers/${s.customerId}`, undefined, auth)).status;
  }
  expect(status).toBe(401);
  expect(Date.now() - at).toBeLessThanOrEqual(1_200);
  expect((await apiKey('list')).stdout).toMatch(new RegExp(`^${id}\\t.*\\trevoked \\S+$`, 'm'));
  expect((await apiKey('revoke', id)).code).toBe(1); // no active key of that id any more
});

test('several roles; hash makes an API_KEYS entry and stores nothing; usage errors exit 2', async () => {
  const both = await apiKey('create', '--name', 'ops', '--role', 'operator', '--role', 'reader');
  expect(both.code).toBe(0);
  const id = both.stdout.trim().split('_')[1]!;
  expect(await apiKeys(h.db).findOne({ _id: id })).toMatchObject({ roles: ['operator', 'reader'] });

  const before = await apiKeys(h.db).countDocuments();
  const hashed = await apiKey('hash', '--name', 'deploy', '--role', 'writer');
  expect(hashed.code).toBe(0);
  expect(hashed.stderr).toContain(`deploy:writer:${hashApiKey(hashed.stdout.trim())}`);
  expect(await apiKeys(h.db).countDocuments()).toBe(before);

  for (const args of [
    ['create', '--name', 'x'],
    ['create', '--name', 'x', '--role', 'admin'],
    ['create', '--role', 'reader'],
    ['revoke'],
    ['rotate'],
    ['list', '--bogus'],
  ]) {
    const res = await apiKey(...args);
    expect([args.join(' '), res.code]).toEqual([args.join(' '), 2]);
    expect(res.stderr).toContain('usage: npm run api-key');
  }
});

test("npm start's development key: made once with mode 0600, kept, and accepted through its API_KEYS entry", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-key-'));
  const file = path.join(dir, 'dev-api-key');
  const first = devApiKey(file);
  expect(first.created).toBe(true);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  const key = fs.readFileSync(file, 'utf8').trim();
  expect(devApiKey(file)).toEqual({ entry: first.entry, created: false });
  const config = loadConfig({ API_KEYS: first.entry, PAYLOAD_ENCRYPTION: 'off' });
  const auth = apiKeyAuthenticator({ configured: config.API_KEYS });
  expect(await auth.authenticate(key)).toMatchObject({
    name: 'dev',
    roles: ['reader', 'writer', 'operator', 'metrics'],
  });
  fs.rmSync(dir, { recursive: true });
});

import { hostAllowed, signWebhook, verifyWebhook, webhookUrlProblem } from '../../common/webhooks';
import { loadConfig } from '../../common/config';
import { retryDelayMs } from '../../webhooks/dispatcher';

/** The rules of webhooks/ and common/webhooks.ts that need no server. */
const allow = ['localhost', 'hooks.example.com', '*.partner.example'];

test.each([
  ['https://hooks.example.com/in', undefined],
  ['https://HOOKS.example.com./in', undefined],
  ['https://a.b.partner.example/in', undefined],
  ['http://localhost:8080/in', undefined],
  ['https://partner.example/in', "host 'partner.example' is not in the webhook allowlist (WEBHOOK_ALLOWED_HOSTS)"],
  ['https://evil.example.com/in', "host 'evil.example.com' is not in the webhook allowlist (WEBHOOK_ALLOWED_HOSTS)"],
  ['https://hooks.example.com.evil.net/', expect.stringContaining('not in the webhook allowlist')],
  ['http://hooks.example.com/in', 'must be an https URL'],
  ['https://user:pw@hooks.example.com/in', 'must not carry a user name or password'],
  ['https://hooks.example.com/in#x', 'must not have a fragment'],
  ['ftp://hooks.example.com/in', 'must be an https URL'],
  ['http://[', 'must be an absolute URL'],
])('webhookUrlProblem(%s)', (url, problem) => {
  expect(webhookUrlProblem(url, allow)).toEqual(problem);
});

test('a wildcard entry matches names under it only', () => {
  expect(hostAllowed('x.partner.example', allow)).toBe(true);
  expect(hostAllowed('xpartner.example', allow)).toBe(false);
  expect(hostAllowed('partner.example', allow)).toBe(false);
});

test('retry delays double up to the cap, each in the upper half of its step (equal jitter)', () => {
  const schedule = { baseMs: 30_000, maxDelayMs: 3_600_000, horizonMs: 86_400_000 };
  const low = [1, 2, 3, 8, 30].map((n) => retryDelayMs(n, schedule, () => 0));
  const high = [1, 2, 3, 8, 30].map((n) => retryDelayMs(n, schedule, () => 1));
  expect(low).toEqual([15_000, 30_000, 60_000, 1_800_000, 1_800_000]);
  expect(high).toEqual([30_000, 60_000, 120_000, 3_600_000, 3_600_000]);
});

test('a signature made for one body and time verifies only for them', () => {
  const t = 1_767_262_800;
  const header = signWebhook('whsec_k', '{"a":1}', t);
  expect(verifyWebhook('whsec_k', '{"a":1}', header, { now: t * 1000 })).toEqual({ ok: true, timestamp: t });
  expect(verifyWebhook('whsec_k', '{"a":2}', header, { now: t * 1000 }).ok).toBe(false);
  expect(verifyWebhook('whsec_k', '{"a":1}', header, { now: (t + 301) * 1000 }).ok).toBe(false);
  expect(verifyWebhook('whsec_k', '{"a":1}', `${header},v1=00`, { now: t * 1000 }).ok).toBe(true);
  expect(verifyWebhook('whsec_k', '{"a":1}', 't=abc,v1=00', { now: t * 1000 })).toEqual({
    ok: false,
    reason: 'malformed signature',
  });
  expect(verifyWebhook('whsec_k', '{"a":1}', undefined).ok).toBe(false);
});

test('the WEBHOOK_* variables are validated at start, naming the variable', () => {
  const base = { PAYLOAD_ENCRYPTION: 'off' };
  expect(
    loadConfig({ ...base, WEBHOOK_ALLOWED_HOSTS: 'Hooks.Example.com, *.p.example' }).WEBHOOK_ALLOWED_HOSTS,
  ).toEqual(['hooks.example.com', '*.p.example']);
  expect(loadConfig({ ...base, WEBHOOK_RETRY_BASE_SECONDS: '0.1' }).WEBHOOK_RETRY_BASE_SECONDS).toBe(0.1);
  expect(() => loadConfig({ ...base, WEBHOOK_ALLOWED_HOSTS: 'http://x' })).toThrow(/WEBHOOK_ALLOWED_HOSTS/);
  expect(() => loadConfig({ ...base, WEBHOOK_DISABLE_AFTER_FAILURES: '0' })).toThrow(/WEBHOOK_DISABLE_AFTER_FAILURES/);
});

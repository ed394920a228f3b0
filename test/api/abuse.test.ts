import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createApp } from '../../api/app';
import { anyAuthenticator } from '../../api/auth';
import { openApiPath, type Operation } from '../../api/operation';
import { operations } from '../../api/operations';
import { localCredential } from '../../scripts/lib/credential';
import { repoRoot } from '../../scripts/lib/servers';
import { unique } from '../support/fixtures';
import { http, startHarness, type Harness } from '../support/harness';
import { ContractChecker } from './support';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('abuse');
});
afterAll(async () => {
  await h?.stop();
});

const guarded = Object.entries(operations as Record<string, Operation>).filter(([, op]) => op.roles !== 'public');
const urlOf = (op: Operation) => op.path.replace(/:([A-Za-z]+)/g, () => unique('x'));

/** An API of the harness's servers with its own authenticator and rate limit, on a free port. */
async function api(options: Pick<Parameters<typeof createApp>[0], 'auth' | 'rateLimit'>) {
  const server: Server = createServer(
    createApp({ temporal: h.client, db: h.db, taskQueue: h.taskQueue, bodyLimit: 100_000, ...options }),
  );
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('beyond its rate limit a credential gets 429 with Retry-After and the RateLimit headers; another is not held back', async () => {
  const [a, b] = [localCredential('a'), localCredential('b')];
  const limited = await api({
    auth: anyAuthenticator(a.authenticator, b.authenticator),
    rateLimit: { limit: 3, windowSeconds: 30 },
  });
  try {
    for (let i = 0; i < 3; i++) {
      const res = await http(limited.baseUrl, 'GET', '/orders', undefined, a.headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"3-in-30s"; r=${2 - i}; t=\\d+$`));
      expect(res.headers.get('ratelimit-policy')).toMatch(/^"3-in-30s"; q=3; w=30/);
    }
    const customerId = unique('cust');
    const refused = await http(
      limited.baseUrl,
      'POST',
      '/customers',
      { id: customerId, name: 'C', creditLimit: 1 },
      a.headers,
    );
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 429, type: 'urn:problem:too-many-requests' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    expect(refused.headers.get('ratelimit')).toMatch(/^"3-in-30s"; r=0; t=\d+$/);
    expect(await h.cols.customers.findOne({ _id: customerId })).toBeNull(); // nothing written
    // per credential: another key still has its own three
    expect((await http(limited.baseUrl, 'GET', '/orders', undefined, b.headers)).status).toBe(200);
    // health, readiness and the document are not limited
    expect((await http(limited.baseUrl, 'GET', '/health', undefined, a.headers)).status).toBe(200);
  } finally {
    await limited.close();
  }
});

test('every guarded operation answers its documented 429 once its credential is over the limit', async () => {
  const contract = new ContractChecker();
  const credentials = guarded.map(([id]) => localCredential(id));
  const limited = await api({
    auth: anyAuthenticator(...credentials.map((c) => c.authenticator)),
    rateLimit: { limit: 1, windowSeconds: 60 },
  });
  try {
    for (const [i, [, op]] of guarded.entries()) {
      const { headers } = credentials[i]!;
      const body = op.method === 'post' ? {} : undefined;
      await http(limited.baseUrl, op.method.toUpperCase(), urlOf(op), body, headers);
      const res = await http(limited.baseUrl, op.method.toUpperCase(), urlOf(op), body, headers);
      expect([op.path, res.status]).toEqual([op.path, 429]);
      contract.check(op.method, openApiPath(op.path), res);
    }
  } finally {
    await limited.close();
  }
});

test('security headers on every answer (helmet); no CORS header, not even to a preflight', async () => {
  for (const [method, url, headers] of [
    ['GET', '/orders', {}],
    ['GET', '/health', {}],
    ['GET', '/docs', {}],
    ['GET', '/orders', { authorization: '' }], // a 401
  ] as const) {
    const res = await http(h.baseUrl, method, url, undefined, { origin: 'https://elsewhere.example', ...headers });
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'self'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  }
  const preflight = await fetch(`${h.baseUrl}/orders`, {
    method: 'OPTIONS',
    headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' },
  });
  expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
});

test('Swagger UI at /docs renders the document under the CSP, with nothing blocked', async () => {
  const executablePath = execFileSync('bash', [path.join(repoRoot, 'scripts', 'setup-browser.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await context.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) blocked.push(m.text());
    });
    await page.goto(`${h.baseUrl}/docs`);
    await page.getByText('Durable sagas API').first().waitFor({ timeout: 30_000 });
    await page.getByText('/orders/{orderId}/retry-compensation').first().waitFor({ timeout: 30_000 });
    await page
      .getByRole('button', { name: /Authorize/ })
      .first()
      .waitFor({ timeout: 30_000 });
    expect(blocked).toEqual([]);
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}, 600_000);

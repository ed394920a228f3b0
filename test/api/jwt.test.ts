import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type KeyLike } from 'jose';
import { createApp } from '../../api/app';
import { anyAuthenticator, jwtAuthenticator } from '../../api/auth';
import { freePort } from '../../scripts/lib/servers';
import { seed, type Seeded } from '../support/fixtures';
import { http, startHarness, type Harness } from '../support/harness';
import { testAuthenticator } from '../support/lane';

/** JWTs verified against a JWKS this test serves itself on 127.0.0.1, as an identity provider would. */
const issuer = 'https://idp.test/';
const audience = 'sagas-api';
let h: Harness;
let s: Seeded;
let signingKey: KeyLike;
let jwks: Server;
let api: Server;
let baseUrl: string;

const listen = async (server: Server) => {
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  h = await startHarness('jwt');
  s = await seed(h);
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  const jwksUrl = `${await listen(jwks)}/.well-known/jwks.json`;
  const auth = anyAuthenticator(
    jwtAuthenticator({ jwksUrl, issuer, audience, rolesClaim: 'https://sagas/roles' }),
    testAuthenticator(h.db),
  );
  api = createServer(createApp({ temporal: h.client, db: h.db, taskQueue: h.taskQueue, bodyLimit: 100_000, auth }));
  baseUrl = await listen(api);
});
afterAll(async () => {
  api?.close();
  api?.closeAllConnections();
  jwks?.close();
  await h?.stop();
});

async function token(
  claims: JWTPayload,
  { key = signingKey, iss = issuer, aud = audience, expires = '5m' }: Partial<Record<string, unknown>> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(iss as string)
    .setAudience(aud as string)
    .setSubject(claims.sub ?? 'alice@example.com')
    .setIssuedAt()
    .setExpirationTime(expires as string)
    .sign(key as KeyLike);
}

const read = (t: string) =>
  http(baseUrl, 'GET', `/customers/${s.customerId}`, undefined, { authorization: `Bearer ${t}` });
const write = (t: string) => http(baseUrl, 'POST', '/parcels', { weightKg: 1 }, { authorization: `Bearer ${t}` });

test('a JWT of the provider, for this audience, with its roles in the configured claim, is let through', async () => {
  expect((await read(await token({ 'https://sagas/roles': ['reader'] }))).status).toBe(200);
  // one space-separated string works too, and roles it does not know are ignored
  const writer = await token({ 'https://sagas/roles': 'writer admin' });
  expect((await write(writer)).status).toBe(201);
  expect((await read(writer)).status).toBe(403);
});

test('without the role: 403; without any role claim: 403', async () => {
  expect((await write(await token({ 'https://sagas/roles': ['reader'] }))).status).toBe(403);
  expect((await read(await token({}))).status).toBe(403);
});

test.each([
  ['another issuer', { iss: 'https://evil.test/' }],
  ['another audience', { aud: 'someone-else' }],
  ['expired', { expires: Math.floor(Date.now() / 1000) - 120 }],
])('%s: 401 with WWW-Authenticate: Bearer', async (_name, options) => {
  const res = await read(await token({ 'https://sagas/roles': ['reader'] }, options));
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
});

test('signed by a key not in the JWKS: 401; API keys still work beside JWTs', async () => {
  const other = await generateKeyPair('ES256');
  expect((await read(await token({ 'https://sagas/roles': ['reader'] }, { key: other.privateKey }))).status).toBe(401);
  expect((await read(h.keys.reader)).status).toBe(200);
});

test('an unreachable JWKS answers 503 with Retry-After, not 401 or 500', async () => {
  const unreachable = jwtAuthenticator({ jwksUrl: `http://127.0.0.1:${await freePort()}/jwks`, issuer, audience });
  const app = createApp({ temporal: h.client, db: h.db, taskQueue: h.taskQueue, bodyLimit: 1000, auth: unreachable });
  const server = app.listen(0, '127.0.0.1');
  const url = await new Promise<string>((resolve) =>
    server.once('listening', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
  try {
    const res = await http(url, 'GET', '/orders', undefined, {
      authorization: `Bearer ${await token({ 'https://sagas/roles': ['reader'] })}`,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  } finally {
    server.close();
  }
});

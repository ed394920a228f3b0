/**
 * The codec endpoint's browser sign-in (what lets the Web UI decode payloads, docs/security.md): a credential with
 * the reader role becomes a session cookie (HttpOnly, SameSite=Strict, path /codec), stored as a hash, good for the
 * codec operations alone, ended by sign-out, by its key's revocation and by its expiry. Refused sign-ins make no
 * session. Against the real API and FerretDB.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../api/app';
import { dataConverterFromEnv } from '../../codec/data-converter';
import { apiKeys, createApiKey, revokeApiKey } from '../../store/api-keys';
import { codecSessions } from '../../store/codec-sessions';
import { startHarness, type Harness } from '../support/harness';
import { testAuthenticator } from '../support/lane';
import { ContractChecker } from './support';

let h: Harness;
const contract = new ContractChecker();
const servers: Server[] = [];

beforeAll(async () => {
  h = await startHarness('codec-session');
});
afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await h?.stop();
});

/** An API of our own, to give sessions a short life. */
async function api(codecSessionMs?: number): Promise<string> {
  const server = createApp({
    temporal: h.client,
    db: h.db,
    taskQueue: h.taskQueue,
    bodyLimit: 100_000,
    payloadCodecs: dataConverterFromEnv().payloadCodecs,
    auth: testAuthenticator(h.db),
    rateLimit: 'off',
    ...(codecSessionMs === undefined ? {} : { codecSessionMs }),
  }).listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function signIn(baseUrl: string, credential: string): Promise<Response> {
  return fetch(`${baseUrl}/codec/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ credential }).toString(),
  });
}

/** The `name=value` of the session cookie a sign-in set. */
function sessionCookie(res: Response): string {
  const header = res.headers.get('set-cookie') ?? '';
  return header.split(';')[0]!;
}

/** An encrypted payload of the client's own converter, and `/codec/decode` on it with these headers. */
async function decode(baseUrl: string, headers: Record<string, string>): Promise<number> {
  const [encoded] = await dataConverterFromEnv().payloadCodecs![0]!.encode([
    { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"marker"') },
  ]);
  const res = await fetch(`${baseUrl}/codec/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(encoded!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(encoded!.data!).toString('base64'),
        },
      ],
    }),
  });
  if (res.status === 200) {
    const body = (await res.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(body.payloads[0]!.data, 'base64').toString()).toBe('"marker"');
  }
  return res.status;
}

test('a reader key signs a browser in: an HttpOnly, SameSite=Strict cookie for /codec that decodes, stored as a hash', async () => {
  const baseUrl = await api();
  const res = await signIn(baseUrl, h.keys.reader);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await res.text()).toContain('Signed in as test-reader');
  const setCookie = res.headers.get('set-cookie')!;
  expect(setCookie).toMatch(/^saga_codec_session=cs_[A-Za-z0-9_-]{43}; /);
  expect(setCookie).toMatch(/; Path=\/codec/);
  expect(setCookie).toMatch(/; HttpOnly/);
  expect(setCookie).toMatch(/; SameSite=Strict/);
  expect(setCookie).toMatch(/; Expires=/);
  // Over plain http to a loopback host the cookie cannot be Secure (the browser would drop it); elsewhere it is.
  expect(setCookie).not.toMatch(/Secure/);
  const cookie = sessionCookie(res);
  const token = cookie.split('=')[1]!;
  expect(JSON.stringify(await codecSessions(h.db).find({}).toArray())).not.toContain(token);
  expect(setCookie).not.toContain(h.keys.reader);

  expect(await decode(baseUrl, { cookie })).toBe(200);
  // The page says who is signed in.
  const page = await fetch(`${baseUrl}/codec/session`, { headers: { cookie } });
  expect(await page.text()).toContain('Signed in as test-reader');
  // The session is good for the codec endpoint alone.
  const read = await fetch(`${baseUrl}/orders/ord-none`, { headers: { cookie } });
  expect(read.status).toBe(401);
  // And the bearer credential still works on its own.
  expect(await decode(baseUrl, { authorization: `Bearer ${h.keys.reader}` })).toBe(200);
});

test('without a session or credential, and with a forged cookie, the codec endpoint answers 401', async () => {
  const baseUrl = await api();
  expect(await decode(baseUrl, {})).toBe(401);
  expect(await decode(baseUrl, { cookie: `saga_codec_session=cs_${'A'.repeat(43)}` })).toBe(401);
  expect(await decode(baseUrl, { cookie: 'saga_codec_session=not-a-token' })).toBe(401);
});

test('a bad credential, one without the reader role, no credential or a JSON body make no session', async () => {
  const baseUrl = await api();
  const before = await codecSessions(h.db).countDocuments();
  const bad = await signIn(baseUrl, 'sk_000000000000_' + 'x'.repeat(43));
  expect(bad.status).toBe(401);
  expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer/);
  expect(bad.headers.get('set-cookie')).toBeNull();
  contract.check('post', '/codec/session', { status: bad.status, headers: bad.headers, body: await bad.json() });
  const writer = await signIn(baseUrl, h.keys.writer);
  expect(writer.status).toBe(403);
  expect(writer.headers.get('set-cookie')).toBeNull();
  const none = await fetch(`${baseUrl}/codec/session`, { method: 'POST' });
  expect(none.status).toBe(401);
  const json = await fetch(`${baseUrl}/codec/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ credential: h.keys.reader }),
  });
  expect(json.status).toBe(415);
  const unknownField = await fetch(`${baseUrl}/codec/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ credential: h.keys.reader, admin: 'true' }).toString(),
  });
  expect(unknownField.status).toBe(400);
  expect(await unknownField.json()).toMatchObject({ errors: [expect.objectContaining({ path: 'body.admin' })] });
  // Fields a lenient form parser would drop or turn into something else are refused too.
  for (const body of ['=null', '__proto__=x', 'credential=a&credential=b', `credential=`]) {
    const res = await fetch(`${baseUrl}/codec/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${h.keys.reader}` },
      body,
    });
    expect([body, res.status]).toEqual([body, 400]);
  }
  expect(await codecSessions(h.db).countDocuments()).toBe(before);
});

test('a bearer header signs in too; sign-out ends the session and clears the cookie', async () => {
  const baseUrl = await api();
  const res = await fetch(`${baseUrl}/codec/session`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.keys.all}` },
  });
  expect(res.status).toBe(200);
  const cookie = sessionCookie(res);
  expect(await decode(baseUrl, { cookie })).toBe(200);
  const out = await fetch(`${baseUrl}/codec/session/sign-out`, { method: 'POST', headers: { cookie } });
  expect(out.status).toBe(200);
  expect(out.headers.get('set-cookie')).toMatch(/^saga_codec_session=; Path=\/codec; Expires=Thu, 01 Jan 1970/);
  expect(await decode(baseUrl, { cookie })).toBe(401);
});

test("a session ends within a second of its key's revocation, and at its expiry", async () => {
  const baseUrl = await api();
  const { id, key } = await createApiKey(apiKeys(h.db), { name: 'ui-user', roles: ['reader'] });
  const cookie = sessionCookie(await signIn(baseUrl, key));
  expect(await decode(baseUrl, { cookie })).toBe(200);
  expect(await revokeApiKey(apiKeys(h.db), id)).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expect(await decode(baseUrl, { cookie })).toBe(401);

  const shortLived = await api(1_000);
  const brief = sessionCookie(await signIn(shortLived, h.keys.reader));
  expect(await decode(shortLived, { cookie: brief })).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expect(await decode(shortLived, { cookie: brief })).toBe(401);
});

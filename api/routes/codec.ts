import type { CookieOptions, Request, RequestHandler } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Collection } from 'mongodb';
import {
  createCodecSession,
  deleteCodecSession,
  findCodecSession,
  type CodecSessionDoc,
} from '../../store/codec-sessions';
import { bearerToken, CODEC_SESSION_COOKIE, codecSessionToken, type Authenticator } from '../auth';
import { AppError } from '../errors';
import type { Handlers } from '../operations';
import type { CodecPayloads } from '../schemas-codec';

const fromWire = ({ metadata, data }: CodecPayloads['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(data ?? '', 'base64'),
});

const toWire = ({ metadata, data }: Payload): CodecPayloads['payloads'][number] => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

/**
 * Temporal's codec server protocol (`/codec/encode`, `/codec/decode`), for the Web UI and the CLI: the payloads
 * through the API's own codecs (the payload encryption, docs/security.md). Encoding runs the codecs in order,
 * decoding in reverse, as the SDK does. A payload that cannot be decrypted (its key id is unknown, it was tampered
 * with) answers 400 naming the key id.
 */
export function codecHandlers(codecs: readonly PayloadCodec[]): Pick<Handlers, 'codecEncode' | 'codecDecode'> {
  const run = async (payloads: CodecPayloads['payloads'], direction: 'encode' | 'decode') => {
    let current = payloads.map(fromWire);
    const ordered = direction === 'encode' ? codecs : [...codecs].reverse();
    try {
      for (const codec of ordered) current = await codec[direction](current);
    } catch (err) {
      throw AppError.badRequest(
        `Cannot ${direction} the payloads: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return { payloads: current.map(toWire) };
  };
  return {
    codecEncode: async ({ body }, _req, res) => {
      res.json(await run(body.payloads, 'encode'));
    },
    codecDecode: async ({ body }, _req, res) => {
      res.json(await run(body.payloads, 'decode'));
    },
  };
}

/**
 * CORS for the codec endpoint only, and only for `origins` (the Web UI's, CODEC_CORS_ORIGIN): the browser's
 * preflight (OPTIONS with Access-Control-Request-Method) is answered 204 for those origins; from any other origin,
 * or on any other path, it gets no CORS headers and goes on to the API's own answer (405: the table has no OPTIONS).
 */
export function codecCors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!req.path.startsWith('/codec/') || origin === undefined || !allowed.has(origin)) return next();
    res.vary('Origin');
    res.setHeader('Access-Control-Allow-Origin', origin);
    // The Web UI's "include cross-origin credentials" sends the codec session's cookie (the sign-in below).
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>${escapeHtml(title)}</title></head>
  <body>
    <h1>${escapeHtml(title)}</h1>
    ${body}
  </body>
</html>
`;

const signInForm = `<p>Sign in with an API key or a JWT that has the <code>reader</code> role, so that the Temporal Web UI
    can decode payloads through this codec endpoint. In the Web UI's Codec Server settings, check "Include
    cross-origin credentials".</p>
    <form method="post" action="/codec/session">
      <label>Credential <input type="password" name="credential" autocomplete="off" required /></label>
      <button type="submit">Sign in</button>
    </form>`;

const signOutForm = `<form method="post" action="/codec/session/sign-out"><button type="submit">Sign out</button></form>`;

/** Loopback hosts are the one place a browser keeps a cookie sent over plain http; everywhere else it is Secure. */
const isLoopback = (host: string): boolean => ['localhost', '127.0.0.1', '[::1]', '::1'].includes(host);

function cookieOptions(req: Request, expires?: Date): CookieOptions {
  return {
    httpOnly: true,
    sameSite: 'strict',
    path: '/codec',
    secure: !isLoopback(req.hostname),
    ...(expires ? { expires } : {}),
  };
}

export interface CodecSessionDeps {
  sessions: Collection<CodecSessionDoc>;
  /** How the API authenticates ('off': API_AUTH=off, and the codec endpoint needs no sign-in). */
  auth: Authenticator | 'off';
  /** How long a session lasts (CODEC_SESSION_HOURS). */
  ttlMs: number;
}

/**
 * The codec endpoint's browser sign-in (docs/security.md, "The Web UI and the codec endpoint"): a page with a form,
 * the sign-in that turns a credential with the `reader` role into a session cookie (HttpOnly, SameSite=Strict,
 * path `/codec`, Secure except on loopback hosts), and the sign-out. The session decodes and encodes payloads and
 * nothing else, and ends early when its API key is revoked.
 */
export function codecSessionHandlers({
  sessions,
  auth,
  ttlMs,
}: CodecSessionDeps): Pick<Handlers, 'codecSessionPage' | 'codecSignIn' | 'codecSignOut'> {
  return {
    codecSessionPage: async (_input, req, res) => {
      if (auth === 'off') {
        res
          .type('html')
          .send(page('Codec endpoint', '<p>Authentication is off (API_AUTH=off): no sign-in needed.</p>'));
        return;
      }
      const token = codecSessionToken(req);
      const session = token === undefined ? undefined : await findCodecSession(sessions, token);
      res.type('html').send(
        session
          ? page(
              'Codec endpoint',
              `<p>Signed in as ${escapeHtml(session.principal.name)} until ${session.expiresAt.toISOString()}.</p>
    ${signOutForm}`,
            )
          : page('Codec endpoint: sign in', signInForm),
      );
    },
    codecSignIn: async ({ body }, req, res) => {
      if (auth === 'off') throw AppError.conflict('Authentication is off (API_AUTH=off): no sign-in needed');
      const credential = bearerToken(req.get('authorization')) ?? body.credential;
      if (credential === undefined) {
        throw AppError.unauthorized('Send a credential: the form field credential, or Authorization: Bearer');
      }
      const principal = await auth.authenticate(credential);
      if (!principal) throw AppError.unauthorized('The credential is not valid (unknown, revoked or expired)', true);
      if (!principal.roles.includes('reader')) throw AppError.forbidden('Decoding payloads needs the role reader');
      const { token, expiresAt } = await createCodecSession(
        sessions,
        { kind: principal.kind, id: principal.id, name: principal.name, roles: [...principal.roles] },
        ttlMs,
      );
      res.cookie(CODEC_SESSION_COOKIE, token, cookieOptions(req, expiresAt));
      res.type('html').send(
        page(
          'Codec endpoint: signed in',
          `<p>Signed in as ${escapeHtml(principal.name)} until ${expiresAt.toISOString()}: the Web UI can decode
    payloads in this browser.</p>
    ${signOutForm}`,
        ),
      );
    },
    codecSignOut: async (_input, req, res) => {
      const token = codecSessionToken(req);
      if (token !== undefined) await deleteCodecSession(sessions, token);
      res.clearCookie(CODEC_SESSION_COOKIE, cookieOptions(req));
      res.type('html').send(page('Codec endpoint: signed out', '<p>Signed out.</p>'));
    },
  };
}

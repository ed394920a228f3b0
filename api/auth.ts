import { parse as parseCookie } from 'cookie';
import type { Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Collection } from 'mongodb';
import { ActorKind, type OperatorActor } from '../common/operator-action';
import { Role } from '../common/roles';
import { apiKeyId, hashApiKey, sameHash, type ApiKeyDoc } from '../store/api-keys';
import { findCodecSession, type CodecSessionDoc } from '../store/codec-sessions';
import { AppError } from './errors';

/** Who is calling: attached to the request (`res.locals.principal`) for the handlers and the audit trail. */
export interface Principal {
  kind: 'api-key' | 'jwt';
  /** The key's id (or its name, for a key from API_KEYS), or the JWT's `iss` and `sub`: what rate limits count. */
  id: string;
  /** The key's name or the JWT's subject. */
  name: string;
  roles: readonly Role[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express declares res.locals' type in this namespace
  namespace Express {
    interface Locals {
      principal?: Principal;
    }
  }
}

/** Turns a bearer credential into a principal, or undefined when it is not valid (unknown, revoked, expired). */
export interface Authenticator {
  authenticate(token: string): Promise<Principal | undefined>;
  /**
   * Whether a principal authenticated earlier still stands (its key not revoked): asked of a codec session's
   * principal on every use. Authenticators that cannot tell (JWTs: a session ends before the token expires) leave
   * it out.
   */
  isActive?(principal: Principal): Promise<boolean>;
}

/** A key given by the environment (API_KEYS): its name, roles and SHA-256 hash; never the key itself. */
export interface ConfiguredKey {
  name: string;
  roles: readonly Role[];
  hash: string;
}

/**
 * API keys: those of the environment (compared, in constant time, with every one of them) and those stored in
 * MongoDB (found by the id the key carries, its hash compared in constant time). A stored key's record is cached
 * for at most `cacheMs` (1 s), so a revoked key stops working within that time.
 */
export function apiKeyAuthenticator({
  keys,
  configured = [],
  cacheMs = 1_000,
}: {
  keys?: Collection<ApiKeyDoc>;
  configured?: readonly ConfiguredKey[];
  cacheMs?: number;
}): Authenticator {
  const cache = new Map<string, { doc: ApiKeyDoc | null; at: number }>();
  const find = async (id: string): Promise<ApiKeyDoc | null> => {
    const hit = cache.get(id);
    if (hit && Date.now() - hit.at < cacheMs) return hit.doc;
    const doc = (await keys?.findOne({ _id: id })) ?? null;
    if (cache.size > 10_000) cache.clear(); // bounded: unknown ids are cached too
    cache.set(id, { doc, at: Date.now() });
    return doc;
  };
  return {
    async authenticate(token) {
      const hash = hashApiKey(token);
      // Every configured key is compared, so the time taken says nothing about which one (if any) matched.
      let match: ConfiguredKey | undefined;
      for (const k of configured) if (sameHash(hash, k.hash) && !match) match = k;
      if (match) return { kind: 'api-key', id: `env:${match.name}`, name: match.name, roles: match.roles };
      const id = apiKeyId(token);
      if (!id || !keys) return undefined;
      const doc = await find(id);
      if (!doc || doc.revokedAt || !sameHash(hash, doc.hash)) return undefined;
      return { kind: 'api-key', id: doc._id, name: doc.name, roles: doc.roles };
    },
    async isActive(principal) {
      if (principal.kind !== 'api-key') return true;
      if (principal.id.startsWith('env:')) return configured.some((k) => `env:${k.name}` === principal.id);
      const doc = await find(principal.id);
      return doc !== null && doc.revokedAt === undefined;
    },
  };
}

export interface JwtOptions {
  /** The identity provider's JWKS (its public signing keys), e.g. https://idp.example/.well-known/jwks.json */
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** The claim that lists the roles: an array of strings, or one space-separated string. Default `roles`. */
  rolesClaim?: string;
}

/** JWTs signed by a key of the JWKS, with the configured issuer and audience, not expired. Roles from `rolesClaim`. */
export function jwtAuthenticator({ jwksUrl, issuer, audience, rolesClaim = 'roles' }: JwtOptions): Authenticator {
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(jwksUrl));
  return {
    async authenticate(token) {
      if (token.split('.').length !== 3) return undefined;
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer, audience });
        if (typeof payload.sub !== 'string' || payload.sub === '') return undefined;
        const claim = payload[rolesClaim];
        const named = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
        const roles = named.filter((r): r is Role => Role.safeParse(r).success);
        return { kind: 'jwt', id: `jwt:${issuer}:${payload.sub}`, name: payload.sub, roles };
      } catch (err) {
        // A bad token (signature, issuer, audience, expiry, format) is the credential's fault: 401.
        if (err instanceof joseErrors.JOSEError && !(err instanceof joseErrors.JWKSTimeout)) return undefined;
        // Anything else is the JWKS not being fetched: the caller may retry later (503); the request's log line
        // says why (its cause).
        throw AppError.unavailable('The identity provider cannot be reached; retry later', {
          cause: new Error(`JWKS ${jwksUrl} could not be fetched`, { cause: err }),
        });
      }
    },
  };
}

/** The first authenticator that accepts the credential decides. */
export function anyAuthenticator(...authenticators: Authenticator[]): Authenticator {
  return {
    async authenticate(token) {
      for (const a of authenticators) {
        const principal = await a.authenticate(token);
        if (principal) return principal;
      }
      return undefined;
    },
    async isActive(principal) {
      for (const a of authenticators) if (a.isActive && !(await a.isActive(principal))) return false;
      return true;
    },
  };
}

/** `Authorization: Bearer <token>` → the token; undefined when the header is missing or of another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Lets the request through when its bearer credential is valid and carries one of `roles`; otherwise 401 (no or
 * bad credential, with `WWW-Authenticate: Bearer`) or 403 (no such role). It runs before admission control, body
 * parsing and the handler, so that a refused request starts and writes nothing. The principal is left in
 * `res.locals.principal`.
 */
export function authorize(
  authenticator: Authenticator,
  roles: readonly Role[],
  sessions?: CodecSessionAuthenticator,
): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    const cookie = sessions && req.get('authorization') === undefined ? codecSessionToken(req) : undefined;
    if (token === undefined && cookie === undefined) {
      throw AppError.unauthorized('Send a credential: Authorization: Bearer <key or JWT>');
    }
    const principal =
      token !== undefined ? await authenticator.authenticate(token) : await sessions!.authenticate(cookie!);
    if (!principal) throw AppError.unauthorized('The credential is not valid (unknown, revoked or expired)', true);
    if (!roles.some((role) => principal.roles.includes(role))) {
      throw AppError.forbidden(`This operation needs the role ${roles.join(' or ')}`);
    }
    res.locals.principal = principal;
    next();
  };
}

/** The cookie of a codec session (store/codec-sessions.ts): HttpOnly, SameSite=Strict, on `/codec` only. */
export const CODEC_SESSION_COOKIE = 'saga_codec_session';

/** The codec session's token from this request's cookie, if it has one. */
export function codecSessionToken(req: Request): string | undefined {
  const header = req.get('cookie');
  return header === undefined ? undefined : parseCookie(header)[CODEC_SESSION_COOKIE];
}

/** The codec endpoint's browser sessions: a session counts as its principal while that principal still stands. */
export interface CodecSessionAuthenticator {
  authenticate(token: string): Promise<Principal | undefined>;
}

export function codecSessionAuthenticator(
  sessions: Collection<CodecSessionDoc>,
  authenticator: Authenticator,
): CodecSessionAuthenticator {
  return {
    async authenticate(token) {
      const session = await findCodecSession(sessions, token);
      if (!session) return undefined;
      const principal: Principal = session.principal;
      return (await (authenticator.isActive?.(principal) ?? true)) ? principal : undefined;
    },
  };
}

/** The caller of an authenticated request. */
export const principalOf = (res: Response): Principal | undefined => res.locals.principal;

/**
 * Who performs an operator action, as the saga records it (`operatorActions`): the principal's name and kind, or
 * `anonymous` when authentication is off; with the reason the request gave, if any.
 */
export function operatorOf(res: Response, reason: string | undefined): OperatorActor {
  const principal = principalOf(res);
  return {
    by: principal?.name ?? ActorKind.anonymous,
    byKind: principal?.kind ?? ActorKind.anonymous,
    ...(reason !== undefined ? { reason } : {}),
  };
}

import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { Role } from '../common/roles';

/**
 * Browser sessions of the codec endpoint: what lets the Temporal Web UI decode payloads, since a browser's fetch
 * can carry a cookie but not our bearer credential (docs/security.md, "The Web UI and the codec endpoint"). A
 * session is a random token (`cs_` and 32 random bytes in base64url) in an HttpOnly cookie; only its SHA-256 hash is
 * stored, with who signed in and until when. It is good for the codec endpoint alone.
 */
export interface CodecSessionDoc {
  /** SHA-256 of the token, hex. */
  _id: string;
  /** Who signed in: the principal of the credential given at sign-in. */
  principal: { kind: 'api-key' | 'jwt'; id: string; name: string; roles: Role[] };
  createdAt: Date;
  expiresAt: Date;
}

const TOKEN_PATTERN = /^cs_[A-Za-z0-9_-]{43}$/;

export const codecSessions = (db: Db): Collection<CodecSessionDoc> => db.collection<CodecSessionDoc>('codecSessions');

const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Stores a new session and returns its token, which is never stored. Expired sessions are deleted on the way. */
export async function createCodecSession(
  sessions: Collection<CodecSessionDoc>,
  principal: CodecSessionDoc['principal'],
  ttlMs: number,
  now = new Date(),
): Promise<{ token: string; expiresAt: Date }> {
  await sessions.deleteMany({ expiresAt: { $lte: now } });
  const token = `cs_${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + ttlMs);
  await sessions.insertOne({ _id: hashToken(token), principal, createdAt: now, expiresAt });
  return { token, expiresAt };
}

/**
 * The session of a token, unless it is malformed, unknown or expired. The lookup is by the token's hash: an exact
 * match on a 256-bit value, so its timing says nothing useful about other tokens.
 */
export async function findCodecSession(
  sessions: Collection<CodecSessionDoc>,
  token: string,
  now = new Date(),
): Promise<CodecSessionDoc | undefined> {
  if (!TOKEN_PATTERN.test(token)) return undefined;
  const doc = await sessions.findOne({ _id: hashToken(token) });
  return doc && doc.expiresAt > now ? doc : undefined;
}

/** Ends a session (signing out). */
export async function deleteCodecSession(sessions: Collection<CodecSessionDoc>, token: string): Promise<void> {
  if (TOKEN_PATTERN.test(token)) await sessions.deleteOne({ _id: hashToken(token) });
}

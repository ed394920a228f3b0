import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { Role } from '../common/roles';

/**
 * API keys, stored as SHA-256 hashes only. A key is `sk_<id>_<secret>`: the id (public, 12 hex digits) finds the
 * record, the secret is 32 random bytes (256 bits) in base64url. A fast hash is enough, and right, for a secret of
 * that entropy: bcrypt or scrypt slow down guessing a low-entropy password, but nobody can enumerate 2^256 secrets,
 * and a slow hash on every request would cost the API the CPU it needs for sagas.
 */
export interface ApiKeyDoc {
  _id: string;
  name: string;
  roles: Role[];
  /** SHA-256 of the whole key, hex. */
  hash: string;
  createdAt: Date;
  revokedAt?: Date;
}

const KEY_PATTERN = /^sk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export const apiKeys = (db: Db): Collection<ApiKeyDoc> => db.collection<ApiKeyDoc>('apiKeys');

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Constant-time comparison of two hex SHA-256 hashes (false, not an exception, for a malformed one). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

/** A new key and its id; the key itself is never stored. */
export function generateApiKey(): { id: string; key: string } {
  const id = randomBytes(6).toString('hex');
  return { id, key: `sk_${id}_${randomBytes(32).toString('base64url')}` };
}

/** The id of a key of our format, or undefined for anything else. */
export const apiKeyId = (key: string): string | undefined => KEY_PATTERN.exec(key)?.[1];

/** Creates and stores a key; the answer is the only time the key itself is seen. */
export async function createApiKey(
  keys: Collection<ApiKeyDoc>,
  { name, roles }: { name: string; roles: readonly Role[] },
): Promise<{ id: string; key: string }> {
  const { id, key } = generateApiKey();
  await keys.insertOne({ _id: id, name, roles: [...roles], hash: hashApiKey(key), createdAt: new Date() });
  return { id, key };
}

export function listApiKeys(keys: Collection<ApiKeyDoc>): Promise<Omit<ApiKeyDoc, 'hash'>[]> {
  return keys.find({}, { projection: { hash: 0 }, sort: { createdAt: 1 } }).toArray();
}

/** Revokes a key (the record stays, for the audit trail). False when there is no such key or it was revoked. */
export async function revokeApiKey(keys: Collection<ApiKeyDoc>, id: string): Promise<boolean> {
  const result = await keys.updateOne({ _id: id, revokedAt: { $exists: false } }, { $set: { revokedAt: new Date() } });
  return result.modifiedCount === 1;
}

import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from '../store/duplicate-key';
import { AppError, problemType } from './errors';

/**
 * One `Idempotency-Key` of a request that starts a saga (`POST /orders`, `POST /transport-orders`): the order
 * it names and, once answered, the answer. Written before the saga starts, so that a retry (or a concurrent
 * duplicate) reuses the same order id and can never start a second saga. Both operations share one key space:
 * a key used for one and then for the other is "a different body" (their hashes differ).
 */
export interface IdempotencyRecord {
  _id: string;
  requestHash: string;
  orderId: string;
  response: { status: number; body: unknown } | null;
  createdAt: Date;
}

export const IDEMPOTENCY_COLLECTION = 'idempotencyKeys';

/** How long a key is remembered unless IDEMPOTENCY_KEY_RETENTION_HOURS says otherwise: 24 hours. */
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

export function idempotencyKeys(db: Db): Collection<IdempotencyRecord> {
  return db.collection<IdempotencyRecord>(IDEMPOTENCY_COLLECTION);
}

/** JSON with object keys sorted, so that the same body hashes the same whatever its key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Hash of a request body; `operation` (absent for `POST /orders`, as its stored keys were hashed) scopes it. */
export function requestHash(body: unknown, operation?: string): string {
  return createHash('sha256')
    .update(canonicalJson(operation === undefined ? body : { operation, body }))
    .digest('hex');
}

/**
 * Claims `key` for a request, atomically (one single-document insert): returns the new record, or the
 * record an earlier request with the same key wrote. A record older than `retentionMs` is expired: it is
 * replaced (one conditional single-document replace) and the key counts as new.
 */
export async function claimKey(
  cols: Collection<IdempotencyRecord>,
  record: Omit<IdempotencyRecord, 'response' | 'createdAt'>,
  retentionMs = DEFAULT_IDEMPOTENCY_RETENTION_MS,
): Promise<{ record: IdempotencyRecord; existed: boolean }> {
  const fresh: IdempotencyRecord = { ...record, response: null, createdAt: new Date() };
  try {
    await cols.insertOne(fresh);
    return { record: fresh, existed: false };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const existing = await cols.findOne({ _id: record._id });
  if (!existing) throw new Error(`idempotency record ${record._id} vanished`);
  if (existing.createdAt.getTime() < fresh.createdAt.getTime() - retentionMs) {
    // Only the request that replaces this very record (same createdAt) takes the key over.
    const replaced = await cols.replaceOne({ _id: record._id, createdAt: existing.createdAt }, fresh);
    if (replaced.modifiedCount === 1) return { record: fresh, existed: false };
    const current = await cols.findOne({ _id: record._id });
    if (!current) throw new Error(`idempotency record ${record._id} vanished`);
    return { record: current, existed: true };
  }
  return { record: existing, existed: true };
}

/** Deletes the records older than `retentionMs`; returns how many. The API runs it periodically. */
export async function purgeExpiredKeys(
  cols: Collection<IdempotencyRecord>,
  retentionMs = DEFAULT_IDEMPOTENCY_RETENTION_MS,
  now = new Date(),
): Promise<number> {
  const { deletedCount } = await cols.deleteMany({ createdAt: { $lt: new Date(now.getTime() - retentionMs) } });
  return deletedCount;
}

/** Stores the answer of the first request that got one; later answers keep the first. */
export async function storeResponse(
  cols: Collection<IdempotencyRecord>,
  key: string,
  response: { status: number; body: unknown },
): Promise<void> {
  await cols.updateOne({ _id: key, response: null }, { $set: { response } });
}

/** Start options that put the key into the saga's memo, so that a retry can tell its own saga from another's. */
export function idempotencyMemo(key: string | undefined): { memo?: { idempotencyKey: string } } {
  return key ? { memo: { idempotencyKey: key } } : {};
}

/** After "already started": true when that saga was started by a request with this key (see `idempotencyMemo`). */
export function startedWithKey(description: { memo?: Record<string, unknown> }, key: string | undefined): boolean {
  return key !== undefined && description.memo?.idempotencyKey === key;
}

export interface StartOnce<T extends { orderId: string }> {
  keys: Collection<IdempotencyRecord>;
  /** The validated `Idempotency-Key`, or undefined when the request has none. */
  key: string | undefined;
  /** The validated body; hashed with `operation` so that a key reused with another body is refused. */
  body: unknown;
  operation?: string;
  /** The body's order id, or a generated one (fixed by the key's record when there is a key). */
  orderId: string;
  location: (orderId: string) => string;
  /** Starts the saga (idempotent by its workflow id); a 409 AppError when the order id is already used. */
  start: (orderId: string, key: string | undefined) => Promise<T>;
  /** How long a key is remembered (default 24 h); after that it counts as new. */
  retentionMs?: number;
}

/**
 * Answers a request that starts a saga, 202 with its `Location`. With an `Idempotency-Key`: the key is claimed
 * first (atomically), a retry with the same body gets the first answer again with `Idempotent-Replayed: true`
 * (a 409 too: it is final), the same key with another body a 422, and a first attempt that got no answer
 * recorded (503, crash) is tried again with the same order id.
 */
export async function answerStartOnce<T extends { orderId: string }>(
  req: Request,
  res: Response,
  { keys, key, body, operation, orderId, location, start, retentionMs }: StartOnce<T>,
): Promise<void> {
  if (key === undefined) {
    const started = await start(orderId, undefined);
    res.status(202).location(location(started.orderId)).json(started);
    return;
  }
  const hash = requestHash(body, operation);
  const { record } = await claimKey(keys, { _id: key, requestHash: hash, orderId }, retentionMs);
  if (record.requestHash !== hash) {
    throw AppError.unprocessable('This Idempotency-Key was used with a different body; use a new key');
  }
  if (record.response) {
    res.setHeader('Idempotent-Replayed', 'true');
    if (record.response.status === 202) res.location(location(record.orderId));
    res.status(record.response.status);
    if (record.response.status >= 400) res.type('application/problem+json');
    res.json(record.response.body);
    return;
  }
  try {
    const started = await start(record.orderId, key);
    await storeResponse(keys, key, { status: 202, body: started });
    res.status(202).location(location(record.orderId)).json(started);
  } catch (err) {
    if (err instanceof AppError && err.status === 409) {
      // The answer for this key is final: a retry gets the same 409.
      const problem = {
        type: problemType(409),
        title: err.title,
        status: 409,
        detail: err.detail,
        instance: req.originalUrl,
      };
      await storeResponse(keys, key, { status: 409, body: problem });
    }
    throw err;
  }
}

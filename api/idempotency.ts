import { createHash } from 'node:crypto';
import { type Collection, type Db, MongoServerError } from 'mongodb';

/**
 * One `Idempotency-Key` of `POST /orders`: the order it names and, once answered, the answer.
 * Written before the saga starts, so that a retry (or a concurrent duplicate) reuses the same
 * order id and can never start a second saga.
 */
export interface IdempotencyRecord {
  _id: string;
  requestHash: string;
  orderId: string;
  response: { status: number; body: unknown } | null;
  createdAt: Date;
}

export const IDEMPOTENCY_COLLECTION = 'idempotencyKeys';

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

export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/**
 * Claims `key` for a request, atomically (one single-document insert): returns the new record, or the
 * record an earlier request with the same key wrote.
 */
export async function claimKey(
  cols: Collection<IdempotencyRecord>,
  record: Omit<IdempotencyRecord, 'response' | 'createdAt'>,
): Promise<{ record: IdempotencyRecord; existed: boolean }> {
  const fresh: IdempotencyRecord = { ...record, response: null, createdAt: new Date() };
  try {
    await cols.insertOne(fresh);
    return { record: fresh, existed: false };
  } catch (err) {
    if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
  }
  const existing = await cols.findOne({ _id: record._id });
  if (!existing) throw new Error(`idempotency record ${record._id} vanished`);
  return { record: existing, existed: true };
}

/** Stores the answer of the first request that got one; later answers keep the first. */
export async function storeResponse(
  cols: Collection<IdempotencyRecord>,
  key: string,
  response: { status: number; body: unknown },
): Promise<void> {
  await cols.updateOne({ _id: key, response: null }, { $set: { response } });
}

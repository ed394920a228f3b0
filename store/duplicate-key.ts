import { MongoBulkWriteError, MongoServerError } from 'mongodb';

/** MongoDB's duplicate key error code: an insert whose `_id` (or unique key) is already taken. */
export const DUPLICATE_KEY = 11000;

/** An insert refused because its `_id` (or unique key) is taken. */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

/** A bulk insert that failed only on taken ids (what went in before, or beside, them is stored). */
export function isDuplicateKeyBulk(err: unknown): err is MongoBulkWriteError {
  if (!(err instanceof MongoBulkWriteError)) return false;
  const errors: readonly { code: unknown }[] = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  return errors.length > 0 && errors.every((e) => e.code === DUPLICATE_KEY);
}

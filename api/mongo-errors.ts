import { MongoServerError } from 'mongodb';
import { AppError } from './errors';

/** MongoDB's duplicate key error code: an insert whose `_id` (or unique key) is already taken. */
const DUPLICATE_KEY = 11000;

/**
 * Runs an insert of a new document; a duplicate key becomes a 409 naming `what` (`Customer c1`). Any other
 * error (MongoDB unreachable: 503) goes to the error middleware unchanged.
 */
export async function insertOnce(insert: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await insert();
  } catch (err) {
    if (err instanceof MongoServerError && err.code === DUPLICATE_KEY)
      throw AppError.conflict(`${what} already exists`);
    throw err;
  }
}

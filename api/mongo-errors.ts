import { isDuplicateKey } from '../store/duplicate-key';
import { AppError } from './errors';

/**
 * Runs an insert of a new document; a duplicate key becomes a 409 naming `what` (`Customer c1`). Any other
 * error (MongoDB unreachable: 503) goes to the error middleware unchanged.
 */
export async function insertOnce(insert: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await insert();
  } catch (err) {
    if (isDuplicateKey(err)) throw AppError.conflict(`${what} already exists`);
    throw err;
  }
}

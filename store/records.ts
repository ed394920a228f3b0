import type { Collection, Filter, UpdateFilter } from 'mongodb';
import { isDuplicateKey } from './duplicate-key';
import type { CompensationOutcome, EffectOutcome } from '../common/attempted';
import { serialized } from './serialize';

/**
 * Idempotent records keyed by saga and step (a payment, a shipment): one document whose `_id` is the
 * idempotency key. Creating it is an upsert that never overwrites; undoing it moves it to a final
 * status, or, when it never existed, writes a `VOIDED` tombstone so a late duplicate cannot create it.
 */
export interface RecordDoc {
  _id: string;
  status: string;
}

export interface RecordStatuses {
  /** Status of a record in force, e.g. `CHARGED`. */
  active: string;
  /** Status of a record undone by its compensation, e.g. `REFUNDED`. */
  reversed: string;
}

export const VOIDED = 'VOIDED';

export async function createRecord<T extends RecordDoc>(
  col: Collection<T>,
  statuses: RecordStatuses,
  key: string,
  fields: Omit<T, '_id' | 'status'>,
): Promise<EffectOutcome> {
  return serialized(`${col.collectionName}:${key}`, () => createRecordNow(col, statuses, key, fields));
}

async function createRecordNow<T extends RecordDoc>(
  col: Collection<T>,
  statuses: RecordStatuses,
  key: string,
  fields: Omit<T, '_id' | 'status'>,
): Promise<EffectOutcome> {
  try {
    const result = await col.updateOne(
      { _id: key } as Filter<T>,
      { $setOnInsert: { ...fields, status: statuses.active } } as UpdateFilter<T>,
      { upsert: true },
    );
    if (result.upsertedCount === 1) return 'applied';
  } catch (err) {
    if (!isDuplicateKey(err)) throw err; // a concurrent duplicate inserted it first
  }
  const doc = await col.findOne({ _id: key } as Filter<T>);
  if (!doc) throw new Error(`Record ${key} vanished after an upsert`);
  return doc.status === statuses.active ? 'already-applied' : 'compensated';
}

export async function reverseRecord<T extends RecordDoc>(
  col: Collection<T>,
  statuses: RecordStatuses,
  key: string,
  reversedFields: Partial<T>,
): Promise<CompensationOutcome> {
  return serialized(`${col.collectionName}:${key}`, () => reverseRecordNow(col, statuses, key, reversedFields));
}

async function reverseRecordNow<T extends RecordDoc>(
  col: Collection<T>,
  statuses: RecordStatuses,
  key: string,
  reversedFields: Partial<T>,
): Promise<CompensationOutcome> {
  for (let pass = 0; pass < 8; pass++) {
    const reversed = await col.updateOne({ _id: key, status: statuses.active } as Filter<T>, {
      $set: { ...reversedFields, status: statuses.reversed },
    });
    if (reversed.modifiedCount === 1) return 'undone';
    try {
      const tombstone = await col.updateOne(
        { _id: key } as Filter<T>,
        { $setOnInsert: { status: VOIDED, voidedAt: new Date() } } as unknown as UpdateFilter<T>,
        { upsert: true },
      );
      if (tombstone.upsertedCount === 1) return 'nothing-to-undo';
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const doc = await col.findOne({ _id: key } as Filter<T>);
    if (doc && doc.status !== statuses.active) return 'already-undone';
    // It became active between our two updates: go round and reverse it.
  }
  throw new Error(`Could not reverse record ${key}: it kept changing`);
}

import type { Collection, Document, Filter, UpdateFilter } from 'mongodb';
import type { CompensationOutcome, EffectOutcome } from '../common/attempted';
import { fieldKey } from './keys';
import { serialized } from './serialize';

/**
 * Idempotent holds on a counter inside one document (credit on a customer, stock on a product).
 *
 * A hold takes `amount` off the counter and records it under the idempotency key; releasing it puts
 * the recorded amount back and leaves a tombstone, so that a late duplicate of the hold (an attempt
 * whose result was lost) can never land after its compensation. Every change is one conditional
 * single-document update: no transactions needed, safe under concurrency and at-least-once delivery.
 */
export interface HoldFields {
  /** The counter the hold takes from, e.g. `stock`. */
  counter: string;
  /** Map field `key -> amount` of the holds in force. */
  holds: string;
  /** Map field `key -> date` of the released keys (tombstones). */
  released: string;
}

export type HoldOutcome = EffectOutcome | 'not-found' | 'insufficient';

type HoldDoc = Document & { _id: string };

function get(doc: Document, field: string, key: string): unknown {
  const map = doc[field] as Record<string, unknown> | undefined;
  return map?.[key];
}

export async function applyHold(
  col: Collection<HoldDoc>,
  fields: HoldFields,
  id: string,
  key: string,
  amount: number,
): Promise<HoldOutcome> {
  return serialized(`${col.collectionName}:${id}`, () => applyHoldNow(col, fields, id, key, amount));
}

async function applyHoldNow(
  col: Collection<HoldDoc>,
  fields: HoldFields,
  id: string,
  key: string,
  amount: number,
): Promise<HoldOutcome> {
  const k = fieldKey(key);
  const filter = {
    _id: id,
    [fields.counter]: { $gte: amount },
    [`${fields.holds}.${k}`]: { $exists: false },
    [`${fields.released}.${k}`]: { $exists: false },
  } as Filter<HoldDoc>;
  const update = {
    $inc: { [fields.counter]: -amount },
    $set: { [`${fields.holds}.${k}`]: amount },
  } as UpdateFilter<HoldDoc>;
  const result = await col.updateOne(filter, update);
  if (result.modifiedCount === 1) return 'applied';
  const doc = await col.findOne({ _id: id } as Filter<HoldDoc>);
  if (!doc) return 'not-found';
  if (get(doc, fields.holds, k) !== undefined) return 'already-applied';
  if (get(doc, fields.released, k) !== undefined) return 'compensated';
  return 'insufficient';
}

export async function releaseHold(
  col: Collection<HoldDoc>,
  fields: HoldFields,
  id: string,
  key: string,
): Promise<CompensationOutcome> {
  return serialized(`${col.collectionName}:${id}`, () => releaseHoldNow(col, fields, id, key));
}

async function releaseHoldNow(
  col: Collection<HoldDoc>,
  fields: HoldFields,
  id: string,
  key: string,
): Promise<CompensationOutcome> {
  const k = fieldKey(key);
  const holdPath = `${fields.holds}.${k}`;
  const releasedPath = `${fields.released}.${k}`;
  // Each pass either makes progress or sees a concurrent change and looks again; a handful suffices.
  for (let pass = 0; pass < 8; pass++) {
    const doc = await col.findOne({ _id: id } as Filter<HoldDoc>);
    if (!doc) return 'nothing-to-undo';
    const amount = get(doc, fields.holds, k);
    if (typeof amount === 'number') {
      const undo = await col.updateOne(
        { _id: id, [holdPath]: amount },
        {
          $inc: { [fields.counter]: amount },
          $unset: { [holdPath]: '' },
          $set: { [releasedPath]: new Date() },
        },
      );
      if (undo.modifiedCount === 1) return 'undone';
      continue;
    }
    if (get(doc, fields.released, k) !== undefined) return 'already-undone';
    const tombstone = await col.updateOne(
      { _id: id, [holdPath]: { $exists: false }, [releasedPath]: { $exists: false } },
      { $set: { [releasedPath]: new Date() } },
    );
    if (tombstone.modifiedCount === 1) return 'nothing-to-undo';
  }
  throw new Error(`Could not release hold ${key} on ${id}: the document kept changing`);
}

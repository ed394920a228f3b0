import type { Db } from 'mongodb';
import { isDuplicateKey } from './duplicate-key';

/**
 * The outbox relay's lease (broker/relay-lease.ts): one document per term, `_id` = `relay#<epoch>`, epochs 1, 2, 3 …
 * Taking the lease is inserting the next term's document: an insert with a unique `_id`, the one write FerretDB v1
 * makes safe across processes, so of two relays that try the same epoch exactly one wins. Every other write is to a
 * document only its own holder writes (its renewals, its release; the hint), so no write races another.
 */
export interface RelayLeaseDoc {
  _id: string;
  epoch: number;
  /** Who holds it: host name, pid and a random id, for the logs. */
  holder: string;
  acquiredAt: Date;
  /** Counted up by the holder at each renewal: others watch it change by their own clock (no clock is compared). */
  renewals: number;
  renewedAt: Date;
  /** Set by a holder that stops: the next relay takes over at once instead of waiting for the lease to lapse. */
  released: boolean;
}

/** Where the last holder said its term is, so that a new relay need not walk up from epoch 1. */
interface RelayLeaseHintDoc {
  _id: 'hint';
  epoch: number;
}

const leaseId = (epoch: number) => `relay#${epoch}`;

function leases(db: Db) {
  return db.collection<RelayLeaseDoc>('relayLeases');
}

function hints(db: Db) {
  return db.collection<RelayLeaseHintDoc>('relayLeases');
}

export function readRelayLease(db: Db, epoch: number): Promise<RelayLeaseDoc | null> {
  return leases(db).findOne({ _id: leaseId(epoch) });
}

/** The newest term: from the hint, walking up while the next epoch exists (0 when there has been none). */
export async function latestRelayEpoch(db: Db): Promise<number> {
  let epoch = (await hints(db).findOne({ _id: 'hint' }))?.epoch ?? 0;
  while ((await readRelayLease(db, epoch + 1)) !== null) epoch += 1;
  return epoch;
}

/** Takes term `epoch` for `holder`; false when another relay took it first. */
export async function insertRelayLease(db: Db, epoch: number, holder: string): Promise<boolean> {
  const now = new Date();
  try {
    await leases(db).insertOne({
      _id: leaseId(epoch),
      epoch,
      holder,
      acquiredAt: now,
      renewals: 0,
      renewedAt: now,
      released: false,
    });
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
  // A hint only: a stale one costs a few reads by `_id`.
  await hints(db).updateOne({ _id: 'hint' }, { $set: { epoch } }, { upsert: true });
  return true;
}

/** The holder's renewal (it alone writes its term's document). */
export async function renewRelayLease(db: Db, epoch: number, renewals: number): Promise<void> {
  await leases(db).updateOne({ _id: leaseId(epoch) }, { $set: { renewals, renewedAt: new Date() } });
}

export async function releaseRelayLease(db: Db, epoch: number): Promise<void> {
  await leases(db).updateOne({ _id: leaseId(epoch) }, { $set: { released: true, renewedAt: new Date() } });
}

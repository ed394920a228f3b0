/**
 * One relay publishes at a time (docs/events.md, "Broker": two would interleave a saga's events). A lease in MongoDB
 * made of writes FerretDB v1 keeps safe across processes (store/relay-leases.ts): a term is taken by inserting its
 * document by `_id` (of two relays exactly one wins), renewed by its holder alone, and taken over by the next term
 * when its holder released it or has not renewed it for `ttlMs` by the watcher's own clock.
 *
 * The holder checks before each batch that it still holds the lease (`assertHeld`): no later term exists and its
 * last renewal succeeded less than ttl/2 ago (so it stops publishing before anyone may take over). What no lease
 * without the broker's help can exclude: a holder that stalls for longer than that inside one batch (a VM paused)
 * publishes that batch while the next holder starts. Its messages are then duplicates, with the same message ids.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { abortableSleep } from './abortable-sleep';
import {
  insertRelayLease,
  latestRelayEpoch,
  readRelayLease,
  releaseRelayLease,
  renewRelayLease,
} from '../store/relay-leases';

export class RelayLeaseLost extends Error {
  override name = 'RelayLeaseLost';
}

export interface RelayLease {
  readonly epoch: number;
  readonly holder: string;
  /** @throws RelayLeaseLost when a later term exists or the last renewal is too old. */
  assertHeld(): Promise<void>;
  /** Stops renewing and marks the term released (the next relay takes over at once). */
  release(): Promise<void>;
}

export interface RelayLeaseOptions {
  db: Db;
  logger: Logger;
  /** A term not renewed for this long (by the watcher's clock) may be taken over. */
  ttlMs: number;
  /** Gives up waiting (resolves undefined) once aborted. */
  signal: AbortSignal;
}

/** Waits until this process holds the lease (or the signal aborts: undefined), then keeps renewing it. */
export async function acquireRelayLease(options: RelayLeaseOptions): Promise<RelayLease | undefined> {
  const { db, logger, ttlMs, signal } = options;
  const holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let epoch = await latestRelayEpoch(db);
  let seen: { epoch: number; renewals: number; since: number } | undefined;
  let waitingLogged = false;
  while (!signal.aborted) {
    const current = epoch === 0 ? null : await readRelayLease(db, epoch);
    let free = current === null || current.released;
    if (current && !free) {
      if (seen?.epoch !== epoch || seen.renewals !== current.renewals) {
        seen = { epoch, renewals: current.renewals, since: Date.now() };
      } else if (Date.now() - seen.since >= ttlMs) {
        free = true; // not renewed for a whole ttl by our clock
      }
      if (!free && !waitingLogged) {
        waitingLogged = true;
        logger.info(
          { holder: current.holder, epoch },
          `Another relay holds the lease (${current.holder}): standing by until it is released or lapses`,
        );
      }
    }
    if (free) {
      if (await insertRelayLease(db, epoch + 1, holder)) {
        epoch += 1;
        logger.info({ epoch, holder }, `Relay lease taken (term ${epoch})`);
        return holdLease(db, logger, epoch, holder, ttlMs);
      }
      epoch = await latestRelayEpoch(db); // another relay won that term: watch it
      continue;
    }
    await abortableSleep(Math.max(50, Math.floor(ttlMs / 5)), signal);
  }
  return undefined;
}

function holdLease(db: Db, logger: Logger, epoch: number, holder: string, ttlMs: number): RelayLease {
  let renewals = 0;
  let lastRenewed = Date.now();
  let stopped = false;
  const renew = async () => {
    try {
      await renewRelayLease(db, epoch, ++renewals);
      lastRenewed = Date.now();
    } catch (err) {
      logger.warn({ err, epoch }, 'Could not renew the relay lease');
    }
  };
  const timer = setInterval(() => void renew(), Math.max(20, Math.floor(ttlMs / 4)));
  timer.unref();
  return {
    epoch,
    holder,
    async assertHeld() {
      if (stopped) throw new RelayLeaseLost('the lease was released');
      const age = Date.now() - lastRenewed;
      if (age > ttlMs / 2) throw new RelayLeaseLost(`the lease was last renewed ${age} ms ago`);
      const next = await readRelayLease(db, epoch + 1);
      if (next !== null) throw new RelayLeaseLost(`term ${epoch + 1} was taken by ${next.holder}`);
    },
    async release() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await releaseRelayLease(db, epoch).catch((err: unknown) =>
        logger.warn({ err, epoch }, 'Could not release the relay lease (the next relay waits for it to lapse)'),
      );
    },
  };
}

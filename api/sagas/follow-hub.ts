import { DomainEventType, type DomainEvent } from '../../common/domain-events';

/**
 * One reader per followed saga, however many clients follow it (`GET /orders/{orderId}/events`, docs/events.md).
 *
 *   client ─┐
 *   client ─┼─▶ feed of saga X ──every pollMs──▶ its domain events after the last seen (one MongoDB read)
 *   client ─┘        │                            └─ new ones: the saga's state, read once, to every client
 *                    └─ no stream at all (a saga started before domain events): its state, read once per poll
 *
 * A feed exists while at least one client follows its saga and ends after the saga's last event
 * (`SagaCompleted`, `SagaCompensated`), on a read that fails (its clients are told and close), or when the API
 * shuts down. It keeps the stream's events (a few dozen per saga), so a client that joins late gets the ones it
 * lacks without another read.
 */
export interface FeedSource<S> {
  /** The saga's events after `sequence`, oldest first. */
  eventsAfter(sequence: number): Promise<DomainEvent[]>;
  /** The saga's state now. */
  readState(): Promise<S>;
}

export interface FeedListener<S> {
  /** New events (possibly none, for a saga without a stream) and the state read after them. */
  update(events: readonly DomainEvent[], state: S): void;
  /** Every events read ends in one of these (nothing new included): the client's keep-alive clock. */
  tick(): void;
  /** The feed could not read; it has ended. */
  fail(err: unknown): void;
  /** The feed ended for good: the saga's last event was delivered, or the API shuts down. */
  end(): void;
}

const lastEventTypes: ReadonlySet<string> = new Set([DomainEventType.SagaCompleted, DomainEventType.SagaCompensated]);

/** The saga's stream is over once it holds one of these. */
export const endsStream = (events: readonly DomainEvent[]): boolean => events.some((e) => lastEventTypes.has(e.type));

class Feed<S> {
  readonly listeners = new Set<FeedListener<S>>();
  /** Every event of the stream read so far, oldest first. */
  readonly events: DomainEvent[] = [];
  private lastState = '';
  private readonly stop = new AbortController();

  constructor(
    private readonly source: FeedSource<S>,
    private readonly pollMs: number,
    shutdown: AbortSignal,
    onEnded: () => void,
  ) {
    const abort = () => this.stop.abort();
    if (shutdown.aborted) abort();
    shutdown.addEventListener('abort', abort, { once: true });
    void this.run().finally(() => {
      shutdown.removeEventListener('abort', abort);
      onEnded();
    });
  }

  /** It stops (its last client left, or the API shuts down): a client that comes now needs a new feed. */
  get stopping(): boolean {
    return this.stop.signal.aborted;
  }

  leave(listener: FeedListener<S>): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stop.abort();
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, this.pollMs);
      this.stop.signal.addEventListener('abort', wake, { once: true });
    });
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const fresh = await this.source.eventsAfter(this.events.at(-1)?.sequence ?? 0);
        if (this.stop.signal.aborted) break;
        if (fresh.length > 0 || this.events.length === 0) {
          this.events.push(...fresh);
          const state = await this.source.readState();
          if (this.stop.signal.aborted) break;
          const text = JSON.stringify(state);
          if (fresh.length > 0 || text !== this.lastState) {
            this.lastState = text;
            for (const l of this.listeners) l.update(fresh, state);
          }
        }
        for (const l of this.listeners) l.tick();
        if (endsStream(fresh)) break;
        await this.sleep();
        if (this.stop.signal.aborted) break;
      }
      for (const l of this.listeners) l.end();
    } catch (err) {
      for (const l of this.listeners) l.fail(err);
    }
  }
}

export class FollowHub {
  private readonly feeds = new Map<string, Feed<unknown>>();

  constructor(private readonly options: { pollMs: number; shutdown: AbortSignal }) {}

  /**
   * Follows the saga `key` (its workflow id) through its feed, created with `source` if none runs. The listener gets
   * `backlog` at once: the events the feed has read so far (the newest clients may already have had). Returns the
   * function that stops following.
   */
  follow<S>(
    key: string,
    source: () => FeedSource<S>,
    listener: FeedListener<S>,
  ): { backlog: readonly DomainEvent[]; leave: () => void } {
    let feed = this.feeds.get(key) as Feed<S> | undefined;
    if (!feed || (feed.stopping && !this.options.shutdown.aborted)) {
      const created: Feed<S> = new Feed<S>(source(), this.options.pollMs, this.options.shutdown, () => {
        if (this.feeds.get(key) === (created as Feed<unknown>)) this.feeds.delete(key);
      });
      feed = created;
      this.feeds.set(key, created);
    }
    const joined = feed;
    joined.listeners.add(listener);
    return { backlog: [...joined.events], leave: () => joined.leave(listener) };
  }

  /** Sagas followed now, each read by one feed. */
  get followed(): number {
    return this.feeds.size;
  }
}

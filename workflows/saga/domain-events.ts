/**
 * A saga's domain event stream, as the workflow writes it (docs/events.md).
 *
 *   transition ──▶ emit(): sequence + 1 ──▶ a local activity (non-cancellable) carrying this event and every one
 *                                          before it; the store inserts, in sequence order, those it lacks
 *
 * Sequences are assigned here, by deterministic workflow code, so a replay or a retried append produces the same
 * events with the same ids; the store inserts each by its id and ignores duplicates, so each lands once. Each append
 * carries the whole stream so far, so when any event is visible every event before it is too (appends run
 * concurrently, e.g. for parallel steps, and may finish in any order). Why not batch what accumulates while an
 * append is in flight: how much accumulates depends on when the append's result arrives, which is not the same on
 * replay, and the number of local activities must be (a mismatch is a nondeterminism error). The saga waits for
 * the appends before it ends and before it waits for an operator (`flushed()`), so that the stream is complete
 * whenever the saga is idle.
 *
 * An update is answered only when the workflow task that ran its handler completes, and a task with local
 * activities completes only once they have (the SDK holds the task for them). So a transition an update caused
 * (the transport order's `decide`) appends after a 1 ms timer (`deferPastThisTask()`): the task ends at once with
 * the update's answer and the timer, and the appends run in the next one. Signals and cancellations are answered
 * by the server when it records them; they need no such timer.
 *
 * **One batch per workflow task** (since `patched('domain-events-per-task')`, `batched`): what the local steps of
 * one workflow task emit is held, and appended in one batch at the next `flush()`, which the engine calls wherever
 * the saga next waits on something that is not a local activity: before a regular step, a wait or a compensation,
 * and when it must be complete (`flushed()`: its end, FAILED; a handler's operator action). A successful saga whose
 * calls are all local appends once. Where the flushes fall is the workflow code's path, the same on replay. Each
 * batch waits for the one before it (`after` = the last sequence stored), so it carries only its own events and
 * the store never sees a gap; the cost is that a reader sees a batch's events together, when its task ends, as it
 * already sees those steps' state (a query is answered between workflow tasks).
 */
import { CancellationScope, proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { domainEventId, type DomainEvent, type SagaType } from '../../common/domain-events';
import { domainEventsCall } from './policies';

const { appendDomainEvents } = proxyLocalActivities<Activities>(domainEventsCall);

/** An event as a transition emits it: the log adds its id, stream, sequence and time. */
export type Draft = DomainEvent extends infer E
  ? E extends DomainEvent
    ? Pick<E, 'type' | 'version' | 'data'>
    : never
  : never;

export interface StreamOf {
  sagaType: SagaType;
  /** The business id (order id). */
  sagaId: string;
}

export class DomainEventLog {
  private readonly events: DomainEvent[] = [];
  private readonly appends: Promise<unknown>[] = [];
  /** While set, new appends wait for this timer: they run in the next workflow task. */
  private deferral: Promise<void> | undefined;
  /** Batched: how many events are handed to an append (the rest are held until the next `flush()`). */
  private handed = 0;
  /** Batched: the last append; the next one starts once it is done. */
  private tail: Promise<unknown> = Promise.resolve();

  /** `batched`: one append per `flush()` (since `patched('domain-events-per-task')`), else one per event. */
  constructor(
    private readonly stream: StreamOf,
    private readonly batched = false,
  ) {}

  /** The event with the next sequence: appended with every event before it, or held until `flush()` (batched). */
  emit(draft: Draft): void {
    const sequence = this.events.length + 1;
    const { workflowId } = workflowInfo();
    this.events.push({
      ...draft,
      eventId: domainEventId(workflowId, sequence),
      sagaType: this.stream.sagaType,
      sagaId: this.stream.sagaId,
      sequence,
      occurredAt: new Date().toISOString(),
    });
    if (this.batched) return;
    const events = [...this.events];
    const deferral = this.deferral;
    // A cancellation of the saga must not cancel the record of what it did.
    this.appends.push(
      CancellationScope.nonCancellable(async () => {
        if (deferral) await deferral;
        return appendDomainEvents({ workflowId, events });
      }),
    );
  }

  /** Batched: appends the events held so far, in one batch after the previous one (a no-op per event, or if none). */
  flush(): void {
    if (!this.batched || this.handed === this.events.length) return;
    const after = this.handed;
    const events = this.events.slice(after);
    this.handed = this.events.length;
    const { workflowId } = workflowInfo();
    const previous = this.tail;
    const deferral = this.deferral;
    this.tail = CancellationScope.nonCancellable(async () => {
      await previous;
      if (deferral) await deferral;
      return appendDomainEvents({ workflowId, events, after });
    });
    this.appends.push(this.tail);
  }

  /**
   * Appends emitted from now on, until a 1 ms timer fires, run after it: in the next workflow task, so that this one
   * (an update's) completes without waiting for them. Calls before the timer fires share it.
   */
  deferPastThisTask(): void {
    this.deferral ??= CancellationScope.nonCancellable(() => sleep(1)).then(() => {
      this.deferral = undefined;
    });
  }

  /** Resolves once every event emitted so far is stored (batched: the held ones appended now). */
  async flushed(): Promise<void> {
    this.flush();
    await Promise.all([...this.appends]);
  }
}

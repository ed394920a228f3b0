import { isDeepStrictEqual } from 'node:util';
import type { Db, Filter } from 'mongodb';
import { isDuplicateKey } from './duplicate-key';
import { DomainEventType, type DomainEvent } from '../common/domain-events';
import { finalSagaStatuses, SagaStatus, StepStatus, type SagaState } from '../common/saga-state';
import type { SagaView, ViewStep } from '../common/shapes/saga-view';
import { domainEventCollection, readStream } from './domain-events';
import { serialized } from './serialize';

/**
 * The read model: one view per saga in `sagaViews` (`_id` = its workflow id), projected from its domain events.
 * A view only moves forward: an event is applied when its sequence is the view's `lastSequence + 1`, so a
 * duplicate or an old event changes nothing and a gap waits for the missing event. Updates are conditional on the
 * `lastSequence` read (atomic on MongoDB) and serialized per view in this process (FerretDB v1, `serialize.ts`).
 */
export type SagaViewDoc = Omit<SagaView, 'source'> & {
  _id: string;
  /** 0 while open, 1 once closed: the listing shows open sagas first. */
  rank: 0 | 1;
  /**
   * `backfill`: written by `npm run rebuild-read-model` from Temporal's state of a saga that has no stream (started
   * before domain events, docs/events.md), `lastSequence` 0. Absent: projected from the saga's events. A projection
   * from events always replaces a backfilled view; a backfill never replaces a projected one.
   */
  origin?: 'backfill';
};

export function sagaViewCollection(db: Db) {
  return db.collection<SagaViewDoc>('sagaViews');
}

function stepOf(view: SagaViewDoc, name: string): ViewStep | undefined {
  return view.steps.find((s) => s.name === name);
}

/** The view after one more event (pure; `view` is not changed). A stream starts with `SagaStarted`. */
export function applyEvent(view: SagaViewDoc | null, event: DomainEvent): SagaViewDoc {
  if (view === null) {
    if (event.type !== DomainEventType.SagaStarted) throw new Error(`Stream starts with ${event.type}`);
    return {
      _id: event.data.workflowId,
      sagaType: event.sagaType,
      orderId: event.sagaId,
      workflowId: event.data.workflowId,
      runId: event.data.runId,
      customerId: event.data.customerId,
      status: SagaStatus.RUNNING,
      total: null,
      steps: [],
      failure: null,
      compensationFailure: null,
      cancelled: false,
      operatorActions: [],
      startedAt: event.occurredAt,
      updatedAt: event.occurredAt,
      closedAt: null,
      rank: 0,
      lastSequence: event.sequence,
    };
  }
  const next: SagaViewDoc = structuredClone(view);
  next.lastSequence = event.sequence;
  next.updatedAt = event.occurredAt;
  const at = event.occurredAt;
  switch (event.type) {
    case DomainEventType.SagaStarted:
      break;
    case DomainEventType.SagaTotalSet:
      next.total = event.data.total;
      break;
    case DomainEventType.StepCompleted:
    case DomainEventType.StepFailed: {
      const failed = event.type === DomainEventType.StepFailed;
      const step: ViewStep = {
        name: event.data.step,
        status: failed ? StepStatus.FAILED : StepStatus.COMPLETED,
        attempts: event.data.attempts,
        startedAt: event.data.startedAt,
        completedAt: failed ? null : at,
        compensation: event.data.compensation,
        compensatedAt: null,
        compensationAttempts: 0,
        errorType: failed ? event.data.failureType : null,
      };
      const i = next.steps.findIndex((s) => s.name === step.name);
      if (i >= 0) next.steps[i] = step;
      else next.steps.push(step);
      break;
    }
    case DomainEventType.CompensationStarted:
      next.status = SagaStatus.COMPENSATING;
      next.cancelled = event.data.cancelled;
      next.failure = { step: event.data.failureStep, type: event.data.failureType };
      break;
    case DomainEventType.CompensationCompleted: {
      const step = stepOf(next, event.data.step);
      if (step) {
        step.status = StepStatus.COMPENSATED;
        step.compensatedAt = at;
        step.compensationAttempts = event.data.attempts;
      }
      break;
    }
    case DomainEventType.CompensationFailed: {
      const step = stepOf(next, event.data.step);
      if (step) {
        step.status = StepStatus.COMPENSATION_FAILED;
        step.compensationAttempts = event.data.attempts;
        step.errorType = event.data.failureType;
      }
      next.compensationFailure = {
        step: event.data.step,
        compensation: event.data.compensation,
        type: event.data.failureType,
      };
      break;
    }
    case DomainEventType.WaitingForOperator:
      next.status = SagaStatus.FAILED;
      break;
    case DomainEventType.OperatorResolved:
      next.status = SagaStatus.COMPENSATING;
      next.compensationFailure = null;
      break;
    case DomainEventType.CompensationSkipped: {
      const step = stepOf(next, event.data.step);
      if (step) step.status = StepStatus.COMPENSATION_SKIPPED;
      next.status = SagaStatus.COMPENSATING;
      next.compensationFailure = null;
      break;
    }
    case DomainEventType.OperatorActionRecorded:
      next.operatorActions.push({ action: event.data.action, byKind: event.data.byKind, at });
      break;
    case DomainEventType.SagaCompleted:
      next.status = SagaStatus.COMPLETED;
      next.closedAt = at;
      next.rank = 1;
      break;
    case DomainEventType.SagaCompensated:
      next.status = SagaStatus.COMPENSATED;
      next.cancelled = event.data.cancelled;
      next.closedAt = at;
      next.rank = 1;
      break;
  }
  return next;
}

/** Applies events in order from `view` on, stopping at the first one that does not follow it. */
export function projectEvents(view: SagaViewDoc | null, events: readonly DomainEvent[]): SagaViewDoc | null {
  let current = view;
  for (const event of events) {
    if (event.sequence !== (current?.lastSequence ?? 0) + 1) break;
    current = applyEvent(current, event);
  }
  return current;
}

/**
 * Brings one saga's view up to date with its stream (idempotent: run it any number of times, concurrently or
 * late, and the view ends at the stream's last contiguous event). Returns the view. `known`: stored events of the
 * stream from sequence 1 on, in order (what an append just stored, and every event before): the first round applies
 * those that go on from the view instead of reading them back; a later append, whose events include these, brings
 * the view past them.
 */
export function projectStream(db: Db, streamId: string, known?: readonly DomainEvent[]): Promise<SagaViewDoc | null> {
  return serialized(`sagaViews:${streamId}`, async () => {
    const views = sagaViewCollection(db);
    let given = known;
    for (;;) {
      const stored = await views.findOne({ _id: streamId });
      // A backfilled view (no stream when it was written) is no base for events: they replace it whole.
      const view = stored?.origin === 'backfill' ? null : stored;
      const after = view?.lastSequence ?? 0;
      const fresh = given?.filter((e) => e.sequence > after);
      given = undefined;
      // The known events only when they go on from the view (else, or when none is new, read the stream).
      const events = fresh?.[0]?.sequence === after + 1 ? fresh : await readStream(db, streamId, after);
      const next = projectEvents(view, events);
      if (next === view || next === null) return stored;
      if (view === null && stored) {
        const { _id, ...fields } = next;
        const result = await views.replaceOne({ _id, origin: 'backfill' }, fields);
        if (result.matchedCount === 1) return next;
        continue; // another projector replaced it: read it again
      }
      if (view === null) {
        try {
          await views.insertOne(next);
          return next;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          continue; // another projector created it: read it again
        }
      }
      const { _id, ...fields } = next;
      const result = await views.replaceOne({ _id, lastSequence: view.lastSequence }, fields);
      if (result.matchedCount === 1) return next;
      // another projector moved it on: read it again
    }
  });
}

/**
 * Rebuilds the read model from the streams: every view re-projected from its whole stream and written when it is
 * at least as far as the stored one (never backwards). Idempotent. Returns how many views it wrote.
 */
export async function rebuildReadModel(db: Db): Promise<{ streams: number; written: number }> {
  const streamIds: string[] = await domainEventCollection(db).distinct('streamId');
  const views = sagaViewCollection(db);
  let written = 0;
  for (const streamId of streamIds.sort()) {
    await serialized(`sagaViews:${streamId}`, async () => {
      const view = projectEvents(null, await readStream(db, streamId));
      if (!view) return;
      const stored = await views.findOne({ _id: streamId });
      if (stored && stored.origin !== 'backfill' && stored.lastSequence > view.lastSequence) return;
      const { _id, ...fields } = view;
      await views.replaceOne({ _id }, fields, { upsert: true });
      written += 1;
    });
  }
  return { streams: streamIds.length, written };
}

/**
 * The view of a saga that has no stream, from the state Temporal holds (its `getState` query or its result):
 * what the events would have said, ids and failure types only (no messages, names or reasons), `lastSequence` 0.
 */
export function viewFromState(
  state: SagaState & { orderId: string; customerId: string; total?: number | null; price?: number | null },
  run: {
    sagaType: SagaView['sagaType'];
    workflowId: string;
    runId: string;
    startTime: Date;
    closeTime?: Date | undefined;
  },
  now: Date,
): SagaViewDoc {
  const final = (finalSagaStatuses as readonly string[]).includes(state.status);
  const closedAt = final ? (run.closeTime ?? now).toISOString() : null;
  return {
    _id: run.workflowId,
    origin: 'backfill',
    sagaType: run.sagaType,
    orderId: state.orderId,
    workflowId: run.workflowId,
    runId: run.runId,
    customerId: state.customerId,
    status: state.status,
    total: state.total ?? state.price ?? null,
    steps: state.steps.map((step) => ({
      name: step.name,
      status: step.status,
      attempts: step.attempts,
      startedAt: step.startedAt,
      completedAt: step.completedAt,
      compensation: step.compensation,
      compensatedAt: step.compensatedAt,
      compensationAttempts: step.compensationAttempts,
      errorType: step.error?.type ?? null,
    })),
    failure: state.failure && { step: state.failure.step, type: state.failure.type },
    compensationFailure: state.compensationFailure && {
      step: state.compensationFailure.step,
      compensation: state.compensationFailure.compensation,
      type: state.compensationFailure.type,
    },
    cancelled: state.cancelled,
    operatorActions: state.operatorActions.map(({ action, byKind, at }) => ({ action, byKind, at })),
    startedAt: run.startTime.toISOString(),
    updatedAt: (run.closeTime ?? now).toISOString(),
    closedAt,
    rank: final ? 1 : 0,
    lastSequence: 0,
  };
}

/**
 * Writes a backfilled view unless the saga has a view projected from events (never overwritten) or a stream
 * (the rebuild projects it). Idempotent; a backfilled view is refreshed when the state changed. Returns whether
 * it wrote.
 */
export async function writeBackfilledView(db: Db, view: SagaViewDoc): Promise<boolean> {
  return serialized(`sagaViews:${view._id}`, async () => {
    if ((await domainEventCollection(db).findOne({ streamId: view._id }, { projection: { _id: 1 } })) !== null) {
      return false;
    }
    const views = sagaViewCollection(db);
    const stored = await views.findOne({ _id: view._id });
    if (stored && stored.origin !== 'backfill') return false;
    const { _id, ...fields } = view;
    if (!stored) {
      try {
        await views.insertOne(view);
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false; // a projection got there first
        throw err;
      }
    }
    if (isDeepStrictEqual(stored, view)) return false; // unchanged since the last backfill
    return (await views.replaceOne({ _id, origin: 'backfill' }, fields)).matchedCount === 1;
  });
}

export async function ensureSagaViewIndexes(db: Db): Promise<void> {
  const views = sagaViewCollection(db);
  await views.createIndex({ sagaType: 1, customerId: 1, rank: 1, closedAt: -1, startedAt: -1 });
  await views.createIndex({ sagaType: 1, status: 1, rank: 1, closedAt: -1, startedAt: -1 });
}

/** The API's answer for one view. */
export function toSagaView({ _id, rank: _rank, origin: _origin, ...view }: SagaViewDoc): SagaView {
  return { source: 'read-model', ...view };
}

export interface ViewQuery {
  sagaType: SagaView['sagaType'];
  status?: SagaView['status'] | undefined;
  customerId?: string | undefined;
  skip: number;
  limit: number;
}

/** One page of views, open sagas first (newest started first), then closed ones (latest closed first). */
export async function listViews(db: Db, q: ViewQuery): Promise<{ views: SagaViewDoc[]; totalCount: number }> {
  const filter: Filter<SagaViewDoc> = { sagaType: q.sagaType };
  if (q.status) filter.status = q.status;
  if (q.customerId) filter.customerId = q.customerId;
  const views = sagaViewCollection(db);
  const [page, totalCount] = await Promise.all([
    views.find(filter).sort({ rank: 1, closedAt: -1, startedAt: -1, _id: 1 }).skip(q.skip).limit(q.limit).toArray(),
    views.countDocuments(filter),
  ]);
  return { views: page, totalCount };
}

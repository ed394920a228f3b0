import { log } from '@temporalio/activity';
import type { Db } from 'mongodb';
import type { DomainEventBatch } from '../common/domain-events';
import { appendEvents, appendFollowing } from '../store/domain-events';
import { projectStream, sagaViewCollection } from '../store/saga-views';

/**
 * The activity that appends a saga's domain events to its stream and brings its read-model view up to date.
 *
 * Idempotent: each event is inserted by its id (`<workflowId>#<sequence>`) and a duplicate is ignored, so a retry,
 * or a new attempt after a worker died mid-write, stores each event once; the projection applies an event only
 * when it follows the view's last one. Run as a local activity, retried without a limit (`domainEventsCall`).
 *
 * A batch with `after` (since `patched('domain-events-per-task')`) follows events that are stored: its events go in
 * with one insert for their markers and one for themselves (`appendFollowing`), and the view, which has applied
 * every event up to `after`, takes them as they are. Without it the batch is the whole stream so far.
 */
export function createDomainEventActivities(db: Db) {
  return {
    async appendDomainEvents({ workflowId, events, after }: DomainEventBatch): Promise<{ added: number }> {
      if (after !== undefined) {
        const sorted = [...events].sort((a, b) => a.sequence - b.sequence);
        const added = await appendFollowing(db, workflowId, sorted, after);
        if (added < events.length) {
          log.info('Domain events already stored (a retried append)', { workflowId, skipped: events.length - added });
        }
        await projectStream(db, workflowId, sorted);
        return { added };
      }
      // The view first: the events it has applied are stored, so the walk-back stops there without reading them;
      // the projection then applies the events in hand instead of reading them back (store/saga-views.ts).
      const stored = await sagaViewCollection(db).findOne(
        { _id: workflowId },
        { projection: { lastSequence: 1, origin: 1 } },
      );
      const storedThrough = stored && stored.origin !== 'backfill' ? stored.lastSequence : 0;
      const added = await appendEvents(db, workflowId, events, storedThrough);
      if (added < events.length) {
        log.info('Domain events already stored (a retried append)', { workflowId, skipped: events.length - added });
      }
      const sorted = [...events].sort((a, b) => a.sequence - b.sequence);
      await projectStream(db, workflowId, sorted);
      return { added };
    },
  };
}

import { log } from '@temporalio/activity';
import type { Db } from 'mongodb';
import type { DomainEventBatch } from '../common/domain-events';
import { appendEvents } from '../store/domain-events';
import { projectStream } from '../store/saga-views';

/**
 * The activity that appends a saga's domain events to its stream and brings its read-model view up to date.
 *
 * Idempotent: each event is inserted by its id (`<workflowId>#<sequence>`) and a duplicate is ignored, so a retry,
 * or a new attempt after a worker died mid-write, stores each event once; the projection applies an event only
 * when it follows the view's last one. Run as a local activity, retried without a limit (`domainEventsCall`).
 */
export function createDomainEventActivities(db: Db) {
  return {
    async appendDomainEvents({ workflowId, events }: DomainEventBatch): Promise<{ added: number }> {
      const added = await appendEvents(db, workflowId, events);
      if (added < events.length) {
        log.info('Domain events already stored (a retried append)', { workflowId, skipped: events.length - added });
      }
      await projectStream(db, workflowId);
      return { added };
    },
  };
}

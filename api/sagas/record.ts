import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import type { z } from 'zod';
import type { DomainEvent, SagaType } from '../../common/domain-events';
import type { SagaStatus } from '../../common/saga-state';
import type { SagaView } from '../../common/shapes/saga-view';
import { readStream } from '../../store/domain-events';
import { listViews, sagaViewCollection, toSagaView, type SagaViewDoc } from '../../store/saga-views';
import { AppError } from '../errors';
import type { OrderList, OrderSummary } from '../schemas';

const DEFAULT_PAGE_SIZE = 20;

/** What a saga's routes read from MongoDB, the same for every saga type: its domain events and its view. */
export interface SagaRecordKind {
  sagaType: SagaType;
  workflowId: (orderId: string) => string;
}

export interface RecordListingQuery {
  status?: SagaStatus | undefined;
  customerId?: string | undefined;
  pageSize?: number | undefined;
  nextPageToken?: string | undefined;
}

export function sagaRecord(db: Db, kind: SagaRecordKind) {
  /** The saga's stream (after `afterSequence`), oldest first; empty when it has none (unknown, or started before
   * domain events). */
  function events(orderId: string, afterSequence = 0): Promise<DomainEvent[]> {
    return readStream(db, kind.workflowId(orderId), afterSequence);
  }

  async function view(orderId: string): Promise<SagaView | null> {
    const doc = await sagaViewCollection(db).findOne({ _id: kind.workflowId(orderId) });
    return doc ? toSagaView(doc) : null;
  }

  async function exists(orderId: string): Promise<boolean> {
    return (
      (await sagaViewCollection(db).findOne({ _id: kind.workflowId(orderId) }, { projection: { _id: 1 } })) !== null
    );
  }

  /** One page of the read model's views, with the count of all that match; the page token is bound to the filters. */
  async function list(q: RecordListingQuery): Promise<z.infer<typeof OrderList>> {
    const filterTag = createHash('sha256')
      .update(JSON.stringify([kind.sagaType, q.status ?? null, q.customerId ?? null]))
      .digest('base64url')
      .slice(0, 12);
    const skip = q.nextPageToken === undefined ? 0 : decodeOffset(q.nextPageToken, filterTag);
    const limit = q.pageSize ?? DEFAULT_PAGE_SIZE;
    const { views, totalCount } = await listViews(db, {
      sagaType: kind.sagaType,
      status: q.status,
      customerId: q.customerId,
      skip,
      limit,
    });
    const next = skip + views.length < totalCount && views.length > 0 ? skip + views.length : null;
    return {
      orders: views.map(summary),
      totalCount,
      nextPageToken: next === null ? null : encodeOffset(next, filterTag),
    };
  }

  return { events, view, exists, list };
}

export type SagaRecord = ReturnType<typeof sagaRecord>;

/** Temporal's status of the run, as the view's saga status implies it (a cancelled saga's run ends CANCELLED). */
function executionStatusOf(view: SagaViewDoc): string {
  if (view.closedAt === null) return 'RUNNING';
  return view.cancelled ? 'CANCELLED' : 'COMPLETED';
}

function summary(view: SagaViewDoc): z.infer<typeof OrderSummary> {
  return {
    orderId: view.orderId,
    workflowId: view.workflowId,
    runId: view.runId,
    customerId: view.customerId,
    status: view.status,
    total: view.total,
    executionStatus: executionStatusOf(view),
    startTime: view.startedAt,
    closeTime: view.closedAt,
  };
}

function badToken(): AppError {
  return AppError.badRequest('query.nextPageToken is not a token of this listing', [
    { path: 'query.nextPageToken', message: 'must be a token returned by a previous page with the same filters' },
  ]);
}

function encodeOffset(offset: number, filterTag: string): string {
  return Buffer.from(JSON.stringify({ f: filterTag, o: offset })).toString('base64url');
}

function decodeOffset(token: string, filterTag: string): number {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (typeof decoded === 'object' && decoded !== null && 'f' in decoded && 'o' in decoded) {
      const { f, o } = decoded;
      if (f === filterTag && typeof o === 'number' && Number.isInteger(o) && o > 0 && o <= 1_000_000) return o;
    }
  } catch {
    // not ours
  }
  throw badToken();
}

import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import type { z } from 'zod';
import { SagaStatus } from '../../common/saga-state';
import { CustomerIdKey, OrderTotalKey, SagaStatusKey } from '../../common/search-attributes';
import { AppError, isInvalidArgument } from '../errors';
import type { OrderList, OrderSummary } from '../schemas';
import { withDeadline } from './client';

const DEFAULT_PAGE_SIZE = 20;

/** Temporal's WorkflowExecutionStatus numbers, by name. */
const executionStatusNames: Record<number, string> = {
  1: 'RUNNING',
  2: 'COMPLETED',
  3: 'FAILED',
  4: 'CANCELLED',
  5: 'TERMINATED',
  6: 'CONTINUED_AS_NEW',
  7: 'TIMED_OUT',
};

export function executionStatusName(status: number | null | undefined): string {
  return executionStatusNames[status ?? 0] ?? 'UNKNOWN';
}

type ListPage = Awaited<ReturnType<Client['workflowService']['listWorkflowExecutions']>>;
type Execution = NonNullable<ListPage['executions']>[number];

/** One search attribute of a listed execution, decoded; undefined when the execution has none. */
export function searchAttribute(execution: Execution, key: { name: string }): unknown {
  const payload = execution.searchAttributes?.indexedFields?.[key.name];
  return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
}

export interface ListingQuery {
  /** Both validated by their schemas (an enum, an Id): nothing in them can break out of the quotes. */
  status?: SagaStatus | undefined;
  customerId?: string | undefined;
  pageSize?: number | undefined;
  nextPageToken?: string | undefined;
}

export interface ListingDeps {
  temporal: Client;
  temporalCallMs: number;
  workflowType: string;
  /** The order id a workflow id names (`order-<orderId>` → `<orderId>`). */
  orderIdOf: (workflowId: string) => string;
}

/**
 * One page of sagas of one workflow type from Temporal visibility, filtered by their search attributes, in
 * visibility's own order. The page token is ours (bound to the filters); a foreign one answers 400.
 */
export async function listSagas(
  { temporal, temporalCallMs, workflowType, orderIdOf }: ListingDeps,
  q: ListingQuery,
): Promise<z.infer<typeof OrderList>> {
  const clauses = [`WorkflowType = '${workflowType}'`];
  if (q.status) clauses.push(`${SagaStatusKey.name} = '${q.status}'`);
  if (q.customerId) clauses.push(`${CustomerIdKey.name} = '${q.customerId}'`);
  const query = clauses.join(' AND ');
  const filterTag = createHash('sha256').update(query).digest('base64url').slice(0, 12);
  const pageToken = q.nextPageToken === undefined ? undefined : decodePageToken(q.nextPageToken, filterTag);

  let page;
  try {
    page = await withDeadline(temporal, temporalCallMs, () =>
      temporal.workflowService.listWorkflowExecutions({
        namespace: temporal.options.namespace,
        query,
        pageSize: q.pageSize ?? DEFAULT_PAGE_SIZE,
        nextPageToken: pageToken,
      }),
    );
  } catch (err) {
    if (pageToken && isInvalidArgument(err)) throw badToken();
    throw err;
  }
  const orders = (page.executions ?? []).map((e) => sagaSummary(e, orderIdOf));
  const next = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
  return { orders, nextPageToken: next ? encodePageToken(Buffer.from(next), filterTag) : null };
}

function sagaSummary(e: Execution, orderIdOf: (workflowId: string) => string): z.infer<typeof OrderSummary> {
  const workflowId = e.execution?.workflowId ?? '';
  const status = searchAttribute(e, SagaStatusKey);
  const customerId = searchAttribute(e, CustomerIdKey);
  const total = searchAttribute(e, OrderTotalKey);
  return {
    orderId: orderIdOf(workflowId),
    workflowId,
    runId: e.execution?.runId ?? '',
    customerId: typeof customerId === 'string' ? customerId : null,
    status: typeof status === 'string' && status in SagaStatus ? (status as SagaStatus) : null,
    total: typeof total === 'number' ? total : null,
    executionStatus: executionStatusName(e.status),
    startTime: optionalTsToDate(e.startTime)?.toISOString() ?? '',
    closeTime: optionalTsToDate(e.closeTime)?.toISOString() ?? null,
  };
}

function badToken(): AppError {
  return AppError.badRequest('query.nextPageToken is not a token of this listing', [
    { path: 'query.nextPageToken', message: 'must be a token returned by a previous page with the same filters' },
  ]);
}

/** Opaque page token: the filters' tag and Temporal's token, base64url-encoded. */
export function encodePageToken(serverToken: Buffer, filterTag: string): string {
  return Buffer.from(JSON.stringify({ f: filterTag, t: serverToken.toString('base64') })).toString('base64url');
}

/** Temporal's token from ours, if it was issued for these filters; otherwise a 400 naming the parameter. */
export function decodePageToken(token: string, filterTag: string): Uint8Array {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (typeof decoded === 'object' && decoded !== null && 'f' in decoded && 't' in decoded) {
      const { f, t } = decoded;
      if (f === filterTag && typeof t === 'string' && t.length > 0) return Buffer.from(t, 'base64');
    }
  } catch {
    // not ours
  }
  throw badToken();
}

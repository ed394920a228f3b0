import { createHash, randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import type { Db } from 'mongodb';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { getStateQuery, retryCompensationSignal } from '../../common/definitions';
import { finalSagaStatuses, SagaStatus } from '../../common/saga-state';
import { CustomerIdKey, OrderTotalKey, SagaStatusKey } from '../../common/search-attributes';
import type { orderSaga } from '../../workflows';
import { AppError, isInvalidArgument, isUnreachable } from '../errors';
import { answerStartOnce, idempotencyKeys, idempotencyMemo, startedWithKey } from '../idempotency';
import type { Handlers } from '../operations';
import type { OrderSummary } from '../schemas';
import type { z } from 'zod';

export interface OrderRoutesDeps {
  temporal: Client;
  db: Db;
  taskQueue: string;
  /** How often the event stream asks the saga for its state. */
  eventsPollMs: number;
  /** Longest one Temporal call may take before the request answers 503. */
  temporalCallMs: number;
  /** Start sagas eagerly (AppDeps.eagerStart). */
  eagerStart: boolean;
  /** How long an Idempotency-Key is remembered. */
  idempotencyRetentionMs: number;
  /** Aborted when the API shuts down: open event streams end. */
  shutdown: AbortSignal;
}

const DEFAULT_PAGE_SIZE = 20;
/** Comment line sent on an idle event stream so that proxies keep it open. */
const HEARTBEAT_MS = 15_000;

const executionStatusNames: Record<number, string> = {
  1: 'RUNNING',
  2: 'COMPLETED',
  3: 'FAILED',
  4: 'CANCELLED',
  5: 'TERMINATED',
  6: 'CONTINUED_AS_NEW',
  7: 'TIMED_OUT',
};

type OrderStartedBody = { orderId: string; workflowId: string; runId: string; status: 'RUNNING' };

/** Starting, listing, reading, cancelling and following order sagas. */
export function orderHandlers({
  temporal,
  db,
  taskQueue,
  eventsPollMs,
  temporalCallMs,
  shutdown,
  eagerStart,
  idempotencyRetentionMs,
}: OrderRoutesDeps): Pick<
  Handlers,
  'startOrder' | 'listOrders' | 'getOrder' | 'cancelOrder' | 'retryCompensation' | 'orderEvents'
> {
  const keys = idempotencyKeys(db);
  const withDeadline = <T>(fn: () => Promise<T>) => temporal.connection.withDeadline(Date.now() + temporalCallMs, fn);
  const handleOf = (orderId: string) => temporal.workflow.getHandle(orderWorkflowId(orderId));

  /** Runs a call on the order's workflow; an unknown workflow becomes a 404. */
  async function onOrder<T>(orderId: string, fn: (handle: WorkflowHandle) => Promise<T>): Promise<T> {
    try {
      return await withDeadline(() => fn(handleOf(orderId)));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw AppError.notFound(`Order ${orderId} does not exist`);
      throw err;
    }
  }

  const queryState = (orderId: string) =>
    onOrder(orderId, (handle) => handle.query(getStateQuery)) as Promise<OrderState>;

  /** Starts the saga; `idempotencyKey` goes into its memo so that a retry can tell its own saga from another's. */
  async function startSaga(input: OrderSagaInput, idempotencyKey?: string): Promise<OrderStartedBody> {
    const workflowId = orderWorkflowId(input.orderId);
    try {
      const handle = await withDeadline(() =>
        temporal.workflow.start<typeof orderSaga>(ORDER_SAGA, {
          taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: [
            { key: SagaStatusKey, value: SagaStatus.RUNNING },
            { key: CustomerIdKey, value: input.customerId },
          ],
          ...idempotencyMemo(idempotencyKey),
          staticSummary: `Order ${input.orderId} for customer ${input.customerId}`,
          // An order id names one saga for good: never start a second one, even after the first closed.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          requestEagerStart: eagerStart,
        }),
      );
      return { orderId: input.orderId, workflowId, runId: handle.firstExecutionRunId, status: SagaStatus.RUNNING };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      if (idempotencyKey) {
        // A retry whose first attempt started the saga but did not get to record the answer.
        const description = await withDeadline(() => temporal.workflow.getHandle(workflowId).describe());
        if (startedWithKey(description, idempotencyKey)) {
          return { orderId: input.orderId, workflowId, runId: description.runId, status: SagaStatus.RUNNING };
        }
      }
      throw AppError.conflict(`Order ${input.orderId} has already been started`);
    }
  }

  const startOrder: Handlers['startOrder'] = async (input, req, res) => {
    const key = input.headers['Idempotency-Key'];
    const body = input.body;
    await answerStartOnce(req, res, {
      keys,
      retentionMs: idempotencyRetentionMs,
      key,
      body,
      orderId: body.orderId ?? randomUUID(),
      location: (orderId) => `/orders/${orderId}`,
      start: (orderId, idempotencyKey) => startSaga({ ...body, orderId }, idempotencyKey),
    });
  };

  const listOrders: Handlers['listOrders'] = async (input, req, res) => {
    const q = input.query;
    const clauses = [`WorkflowType = '${ORDER_SAGA}'`];
    // Both values passed their regexes (enum / Id): nothing can break out of the quotes.
    if (q.status) clauses.push(`${SagaStatusKey.name} = '${q.status}'`);
    if (q.customerId) clauses.push(`${CustomerIdKey.name} = '${q.customerId}'`);
    const query = clauses.join(' AND ');
    const filterTag = createHash('sha256').update(query).digest('base64url').slice(0, 12);
    const pageToken = q.nextPageToken === undefined ? undefined : decodePageToken(q.nextPageToken, filterTag);

    let page;
    try {
      page = await withDeadline(() =>
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
    const orders: z.infer<typeof OrderSummary>[] = (page.executions ?? []).map((e) => {
      const fields = e.searchAttributes?.indexedFields ?? {};
      const attr = (name: string): unknown => {
        const payload = fields[name];
        return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
      };
      const workflowId = e.execution?.workflowId ?? '';
      const status = attr(SagaStatusKey.name);
      const customerId = attr(CustomerIdKey.name);
      const total = attr(OrderTotalKey.name);
      return {
        orderId: workflowId.replace(/^order-/, ''),
        workflowId,
        runId: e.execution?.runId ?? '',
        customerId: typeof customerId === 'string' ? customerId : null,
        status: typeof status === 'string' && status in SagaStatus ? (status as SagaStatus) : null,
        total: typeof total === 'number' ? total : null,
        executionStatus: executionStatusNames[e.status ?? 0] ?? 'UNKNOWN',
        startTime: optionalTsToDate(e.startTime)?.toISOString() ?? '',
        closeTime: optionalTsToDate(e.closeTime)?.toISOString() ?? null,
      };
    });
    const next = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    res.json({ orders, nextPageToken: next ? encodePageToken(Buffer.from(next), filterTag) : null });
  };

  const getOrder: Handlers['getOrder'] = async (input, req, res) => {
    const { orderId } = input.params;
    res.json(await queryState(orderId));
  };

  const cancelOrder: Handlers['cancelOrder'] = async (input, req, res) => {
    const { orderId } = input.params;
    const handle = handleOf(orderId);
    const state = await cancellableState(orderId);
    try {
      await withDeadline(() => handle.cancel());
    } catch (err) {
      // The run closed between our check and the request: it is finished, so there is nothing to cancel.
      if (err instanceof WorkflowNotFoundError) {
        await queryState(orderId); // 404 if it really does not exist
        throw AppError.conflict(`Order ${orderId} has already finished; there is nothing to cancel`);
      }
      throw err;
    }
    res.status(202).location(`/orders/${orderId}`).json({ orderId, cancelRequested: true, status: state.status });
  };

  /** Only a RUNNING saga can be cancelled: a compensating or finished one is already settled or being undone. */
  async function cancellableState(orderId: string): Promise<OrderState> {
    const [state, description] = await Promise.all([queryState(orderId), onOrder(orderId, (h) => h.describe())]);
    if (description.status.name !== 'RUNNING' || finalSagaStatuses.includes(state.status)) {
      throw AppError.conflict(`Order ${orderId} has already finished (${state.status}); there is nothing to cancel`);
    }
    if (state.status !== SagaStatus.RUNNING) {
      throw AppError.conflict(`Order ${orderId} is already being undone (${state.status})`);
    }
    return state;
  }

  /**
   * The operator's retry of a failed compensation (once its cause is fixed): sends `retryCompensation`, and the
   * saga retries from the compensation that failed. Only a FAILED saga waits for it; any other answers 409.
   */
  const retryCompensation: Handlers['retryCompensation'] = async (input, req, res) => {
    const { orderId } = input.params;
    const state = await queryState(orderId);
    if (state.status !== SagaStatus.FAILED || !state.compensationFailure) {
      throw AppError.conflict(
        `Order ${orderId} is ${state.status}: only a FAILED saga (a compensation gave up) can retry its compensation`,
      );
    }
    try {
      await withDeadline(() => handleOf(orderId).signal(retryCompensationSignal));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw AppError.conflict(`Order ${orderId} has already finished`);
      throw err;
    }
    const { step, compensation } = state.compensationFailure;
    res.status(202).location(`/orders/${orderId}`).json({ orderId, retryRequested: true, compensation, step });
  };

  const orderEvents: Handlers['orderEvents'] = async (input, req, res) => {
    const { orderId } = input.params;
    const first = await queryState(orderId); // 404 before any byte of the stream
    await streamStates(req, res, orderId, first);
  };

  /**
   * Server-Sent Events: `state` events with the saga's state, the current one first, then one per change;
   * the stream ends with an `end` event once the saga is COMPLETED or COMPENSATED. A FAILED saga waits for an
   * operator, so the stream stays open (with heartbeat comments) until it moves on.
   */
  async function streamStates(req: Request, res: Response, orderId: string, first: OrderState): Promise<void> {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();

    let eventId = 0;
    let closed = false;
    const stop = new AbortController();
    const end = () => {
      closed = true;
      stop.abort();
    };
    req.on('close', end);
    shutdown.addEventListener('abort', end, { once: true });
    const send = (event: string, data: unknown) => {
      res.write(`id: ${++eventId}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });

    try {
      res.write(`retry: 2000\n\n`);
      let last = JSON.stringify(first);
      send('state', first);
      let state = first;
      let lastWrite = Date.now();
      while (!closed && !finalSagaStatuses.includes(state.status)) {
        await sleep(eventsPollMs);
        if (closed) break;
        try {
          state = await queryState(orderId);
        } catch (err) {
          if (isUnreachable(err)) {
            send('error', { status: 503, detail: 'Temporal cannot be reached; reconnect later' });
            break;
          }
          throw err;
        }
        const current = JSON.stringify(state);
        if (current !== last) {
          last = current;
          send('state', state);
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite >= HEARTBEAT_MS) {
          res.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
      }
      if (!closed && finalSagaStatuses.includes(state.status)) send('end', { status: state.status });
    } finally {
      req.off('close', end);
      shutdown.removeEventListener('abort', end);
      res.end();
    }
  }

  return { startOrder, listOrders, getOrder, cancelOrder, retryCompensation, orderEvents };
}

function badToken(): AppError {
  return AppError.badRequest('query.nextPageToken is not a token of this listing', [
    { path: 'query.nextPageToken', message: 'must be a token returned by a previous page with the same filters' },
  ]);
}

/** Opaque page token: the filters' tag and Temporal's token, base64url-encoded. */
function encodePageToken(serverToken: Buffer, filterTag: string): string {
  return Buffer.from(JSON.stringify({ f: filterTag, t: serverToken.toString('base64') })).toString('base64url');
}

function decodePageToken(token: string, filterTag: string): Uint8Array {
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

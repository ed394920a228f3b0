import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import type { Handlers } from '../operations';
import { logSagaOfRequest } from '../request-log';
import { sagaClient, type SagaKind } from '../sagas/client';
import { sagaHandlers, stateOrView } from '../sagas/handlers';
import { FollowHub } from '../sagas/follow-hub';
import { sagaRecord } from '../sagas/record';
import { SagaType } from '../../common/domain-events';
import { sagaStarts } from '../sagas/start';
import { streamStates } from '../sagas/state-stream';

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

/** The order saga as the API sees it; also what the order intake (bootstrap/order-intake.ts) starts. */
export const orderSagaKind: SagaKind = {
  workflowType: ORDER_SAGA,
  noun: 'Order',
  workflowId: orderWorkflowId,
  location: (id) => `/orders/${id}`,
};

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
  | 'startOrder'
  | 'listOrders'
  | 'getOrder'
  | 'orderDomainEvents'
  | 'cancelOrder'
  | 'retryCompensation'
  | 'skipCompensation'
  | 'orderEvents'
> {
  const orders = sagaClient<OrderSagaInput, OrderState>(
    { temporal, taskQueue, temporalCallMs, eagerStart },
    orderSagaKind,
  );
  const startOnce = sagaStarts(orders, { db, idempotencyRetentionMs });
  const record = sagaRecord(db, { sagaType: SagaType.order, workflowId: orderWorkflowId });
  const hub = new FollowHub({ pollMs: eventsPollMs, shutdown });

  const startOrder: Handlers['startOrder'] = async (input, req, res) => {
    const key = input.headers['Idempotency-Key'];
    const body = input.body;
    await startOnce(req, res, {
      key,
      body,
      orderId: body.orderId ?? randomUUID(),
      input: (orderId) => ({ ...body, orderId }),
    });
  };

  const listOrders: Handlers['listOrders'] = async (input, _req, res) => {
    res.json(await record.list(input.query));
  };

  const {
    read: getOrder,
    domainEvents: orderDomainEvents,
    cancel: cancelOrder,
    retryCompensation,
    skipCompensation,
  } = sagaHandlers(orders, record);

  const orderEvents: Handlers['orderEvents'] = async (input, req, res) => {
    const { orderId } = input.params;
    logSagaOfRequest(req, res, orders.logFields(orderId));
    const read = () => stateOrView(orders, record, orderId);
    const first = await read(); // 404 before any byte of the stream
    const workflowId = orderWorkflowId(orderId);
    const source = () => ({ eventsAfter: (sequence: number) => record.events(orderId, sequence), readState: read });
    await streamStates(req, res, { first, hub, key: workflowId, source, shutdown });
  };

  return {
    startOrder,
    listOrders,
    getOrder,
    orderDomainEvents,
    cancelOrder,
    retryCompensation,
    skipCompensation,
    orderEvents,
  };
}

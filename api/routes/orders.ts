import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { idempotencyKeyOf } from '../idempotency';
import { sagaClient } from '../sagas/client';
import { listSagas } from '../sagas/listing';
import { sagaStarts } from '../sagas/start';
import { streamStates } from '../sagas/state-stream';
import { CreateOrder, ListOrdersQuery, OrderIdParam } from '../schemas';
import { parse } from '../validation';

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

/** Starting, listing, reading, cancelling and following order sagas. */
export function orderRoutes({
  temporal,
  db,
  taskQueue,
  eventsPollMs,
  temporalCallMs,
  shutdown,
  eagerStart,
  idempotencyRetentionMs,
}: OrderRoutesDeps): Router {
  const router = Router();
  const orders = sagaClient<OrderSagaInput, OrderState>(
    { temporal, taskQueue, temporalCallMs, eagerStart },
    { workflowType: ORDER_SAGA, noun: 'Order', workflowId: orderWorkflowId, location: (id) => `/orders/${id}` },
  );
  const startOnce = sagaStarts(orders, { db, idempotencyRetentionMs });
  const listing = {
    temporal,
    temporalCallMs,
    workflowType: ORDER_SAGA,
    orderIdOf: (workflowId: string) => workflowId.replace(/^order-/, ''),
  };

  router.post('/orders', async (req, res) => {
    const key = idempotencyKeyOf(req);
    const body = parse(CreateOrder, req.body, 'body');
    await startOnce(req, res, {
      key,
      body,
      orderId: body.orderId ?? randomUUID(),
      input: (orderId) => ({ ...body, orderId }),
    });
  });

  router.get('/orders', async (req, res) => {
    res.json(await listSagas(listing, parse(ListOrdersQuery, req.query, 'query')));
  });

  router.get('/orders/:orderId', async (req, res) => {
    const { orderId } = parse(OrderIdParam, req.params, 'params');
    res.json(await orders.queryState(orderId));
  });

  router.post('/orders/:orderId/cancel', async (req, res) => {
    const { orderId } = parse(OrderIdParam, req.params, 'params');
    const accepted = await orders.cancel(orderId);
    res.status(202).location(orders.kind.location(orderId)).json(accepted);
  });

  router.post('/orders/:orderId/retry-compensation', async (req, res) => {
    const { orderId } = parse(OrderIdParam, req.params, 'params');
    const accepted = await orders.retryCompensation(orderId);
    res.status(202).location(orders.kind.location(orderId)).json(accepted);
  });

  router.get('/orders/:orderId/events', async (req, res) => {
    const { orderId } = parse(OrderIdParam, req.params, 'params');
    const first = await orders.queryState(orderId); // 404 before any byte of the stream
    await streamStates(req, res, { first, read: () => orders.queryState(orderId), pollMs: eventsPollMs, shutdown });
  });

  return router;
}

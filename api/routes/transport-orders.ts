import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { z } from 'zod';
import { toCents } from '../../store/db';
import { transportCollections } from '../../store/transport-collections';
import { newParcelDoc, newTransportVehicleDoc, toParcel, toTransportVehicle } from '../../store/views';
import {
  TRANSPORT_ORDER,
  TransportDecision,
  transportWorkflowId,
  type TransportOrderInput,
  type TransportOrderState,
} from '../../common/transport';
import { AppError } from '../errors';
import { idempotencyKeyOf } from '../idempotency';
import { insertOnce } from '../mongo-errors';
import { sagaClient } from '../sagas/client';
import { sagaStarts } from '../sagas/start';
import { decide } from '../sagas/transport-decision';
import {
  ApproveBody,
  CreateParcel,
  CreateTransportOrder,
  CreateTransportVehicle,
  ParcelIdParam,
  RejectBody,
  TransportOrderIdParam,
  TransportVehicleIdParam,
  type TransportDecisionAccepted,
} from '../schemas-transport';
import { parse } from '../validation';

export interface TransportOrderRoutesDeps {
  temporal: Client;
  db: Db;
  taskQueue: string;
  /** Longest one Temporal call may take before the request answers 503. */
  temporalCallMs: number;
  /** Start sagas eagerly (AppDeps.eagerStart). */
  eagerStart: boolean;
  /** How long an Idempotency-Key is remembered. */
  idempotencyRetentionMs: number;
}

/** Parcels, transport vehicles, and the transport order saga: start, read, cancel, retry, approve or reject. */
export function transportOrderRoutes({
  temporal,
  db,
  taskQueue,
  temporalCallMs,
  eagerStart,
  idempotencyRetentionMs,
}: TransportOrderRoutesDeps): Router {
  const router = Router();
  const { parcels, transportVehicles } = transportCollections(db);
  const transportOrders = sagaClient<TransportOrderInput, TransportOrderState>(
    { temporal, taskQueue, temporalCallMs, eagerStart },
    {
      workflowType: TRANSPORT_ORDER,
      noun: 'Transport order',
      workflowId: transportWorkflowId,
      location: (id) => `/transport-orders/${id}`,
    },
  );
  const startOnce = sagaStarts(transportOrders, { db, idempotencyRetentionMs, operation: 'startTransportOrder' });

  router.post('/parcels', async (req, res) => {
    const body = parse(CreateParcel, req.body, 'body');
    const doc = newParcelDoc(body.id ?? randomUUID(), body.weightKg);
    await insertOnce(() => parcels.insertOne(doc), `Parcel ${doc._id}`);
    res.status(201).location(`/parcels/${doc._id}`).json(toParcel(doc));
  });

  router.get('/parcels/:id', async (req, res) => {
    const { id } = parse(ParcelIdParam, req.params, 'params');
    const doc = await parcels.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Parcel ${id} does not exist`);
    res.json(toParcel(doc));
  });

  router.post('/transport-vehicles', async (req, res) => {
    const body = parse(CreateTransportVehicle, req.body, 'body');
    const doc = newTransportVehicleDoc(
      body.id ?? randomUUID(),
      body.name,
      body.capacityKg,
      toCents(body.pricePerService),
    );
    await insertOnce(() => transportVehicles.insertOne(doc), `Transport vehicle ${doc._id}`);
    res.status(201).location(`/transport-vehicles/${doc._id}`).json(toTransportVehicle(doc));
  });

  router.get('/transport-vehicles/:id', async (req, res) => {
    const { id } = parse(TransportVehicleIdParam, req.params, 'params');
    const doc = await transportVehicles.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Transport vehicle ${id} does not exist`);
    res.json(toTransportVehicle(doc));
  });

  router.post('/transport-orders', async (req, res) => {
    const key = idempotencyKeyOf(req);
    const body = parse(CreateTransportOrder, req.body, 'body');
    const { customerId, parcelIds, decisionTimeoutSeconds, priority } = body;
    await startOnce(req, res, {
      key,
      body,
      orderId: body.orderId ?? randomUUID(),
      input: (orderId) => ({
        orderId,
        customerId,
        parcelIds,
        ...(decisionTimeoutSeconds !== undefined ? { decisionTimeoutMs: decisionTimeoutSeconds * 1000 } : {}),
        ...(priority !== undefined ? { priority } : {}),
      }),
    });
  });

  router.get('/transport-orders/:orderId', async (req, res) => {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    res.json(await transportOrders.queryState(orderId));
  });

  router.post('/transport-orders/:orderId/cancel', async (req, res) => {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    const accepted = await transportOrders.cancel(orderId);
    res.status(202).location(transportOrders.kind.location(orderId)).json(accepted);
  });

  router.post('/transport-orders/:orderId/retry-compensation', async (req, res) => {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    const accepted = await transportOrders.retryCompensation(orderId);
    res.status(202).location(transportOrders.kind.location(orderId)).json(accepted);
  });

  router.post('/transport-orders/:orderId/approve', async (req, res) => {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    parse(ApproveBody, req.body ?? {}, 'body');
    const accepted: z.infer<typeof TransportDecisionAccepted> = await decide(transportOrders, orderId, {
      decision: TransportDecision.APPROVED,
    });
    res.status(202).location(`/transport-orders/${orderId}`).json(accepted);
  });

  router.post('/transport-orders/:orderId/reject', async (req, res) => {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    const { reason } = parse(RejectBody, req.body ?? {}, 'body');
    const accepted: z.infer<typeof TransportDecisionAccepted> = await decide(transportOrders, orderId, {
      decision: TransportDecision.REJECTED,
      ...(reason !== undefined ? { reason } : {}),
    });
    res.status(202).location(`/transport-orders/${orderId}`).json(accepted);
  });

  return router;
}

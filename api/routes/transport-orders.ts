import { randomUUID } from 'node:crypto';
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
import { operatorOf } from '../auth';
import { AppError } from '../errors';
import { insertOnce } from '../mongo-errors';
import type { Handlers } from '../operations';
import { logSagaOfRequest } from '../request-log';
import { sagaClient } from '../sagas/client';
import { sagaHandlers } from '../sagas/handlers';
import { sagaRecord } from '../sagas/record';
import { SagaType } from '../../common/domain-events';
import { sagaStarts } from '../sagas/start';
import { decide } from '../sagas/transport-decision';
import type { TransportDecisionAccepted } from '../schemas-transport';

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

/** Parcels, transport vehicles, and the transport order saga: start, read, cancel, retry or skip a compensation, approve or reject. */
export function transportOrderHandlers({
  temporal,
  db,
  taskQueue,
  temporalCallMs,
  eagerStart,
  idempotencyRetentionMs,
}: TransportOrderRoutesDeps): Pick<
  Handlers,
  | 'createParcel'
  | 'getParcel'
  | 'createTransportVehicle'
  | 'getTransportVehicle'
  | 'startTransportOrder'
  | 'getTransportOrder'
  | 'transportOrderDomainEvents'
  | 'cancelTransportOrder'
  | 'retryTransportOrderCompensation'
  | 'skipTransportOrderCompensation'
  | 'approveTransportOrder'
  | 'rejectTransportOrder'
> {
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

  const createParcel: Handlers['createParcel'] = async (input, req, res) => {
    const body = input.body;
    const doc = newParcelDoc(body.id ?? randomUUID(), body.weightKg);
    await insertOnce(() => parcels.insertOne(doc), `Parcel ${doc._id}`);
    res.status(201).location(`/parcels/${doc._id}`).json(toParcel(doc));
  };

  const getParcel: Handlers['getParcel'] = async (input, req, res) => {
    const { id } = input.params;
    const doc = await parcels.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Parcel ${id} does not exist`);
    res.json(toParcel(doc));
  };

  const createTransportVehicle: Handlers['createTransportVehicle'] = async (input, req, res) => {
    const body = input.body;
    const doc = newTransportVehicleDoc(
      body.id ?? randomUUID(),
      body.name,
      body.capacityKg,
      toCents(body.pricePerService),
    );
    await insertOnce(() => transportVehicles.insertOne(doc), `Transport vehicle ${doc._id}`);
    res.status(201).location(`/transport-vehicles/${doc._id}`).json(toTransportVehicle(doc));
  };

  const getTransportVehicle: Handlers['getTransportVehicle'] = async (input, req, res) => {
    const { id } = input.params;
    const doc = await transportVehicles.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Transport vehicle ${id} does not exist`);
    res.json(toTransportVehicle(doc));
  };

  const startTransportOrder: Handlers['startTransportOrder'] = async (input, req, res) => {
    const key = input.headers['Idempotency-Key'];
    const body = input.body;
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
  };

  const {
    read: getTransportOrder,
    domainEvents: transportOrderDomainEvents,
    cancel: cancelTransportOrder,
    retryCompensation: retryTransportOrderCompensation,
    skipCompensation: skipTransportOrderCompensation,
  } = sagaHandlers(
    transportOrders,
    sagaRecord(db, { sagaType: SagaType.transportOrder, workflowId: transportWorkflowId }),
  );

  const approveTransportOrder: Handlers['approveTransportOrder'] = async (input, req, res) => {
    const { orderId } = input.params;
    logSagaOfRequest(req, res, transportOrders.logFields(orderId));
    const accepted: z.infer<typeof TransportDecisionAccepted> = await decide(transportOrders, orderId, {
      decision: TransportDecision.APPROVED,
      ...operatorOf(res, input.body.reason), // the body may be left out: the table reads it as `{}`
    });
    res.status(202).location(`/transport-orders/${orderId}`).json(accepted);
  };

  const rejectTransportOrder: Handlers['rejectTransportOrder'] = async (input, req, res) => {
    const { orderId } = input.params;
    logSagaOfRequest(req, res, transportOrders.logFields(orderId));
    const accepted: z.infer<typeof TransportDecisionAccepted> = await decide(transportOrders, orderId, {
      decision: TransportDecision.REJECTED,
      ...operatorOf(res, input.body.reason),
    });
    res.status(202).location(`/transport-orders/${orderId}`).json(accepted);
  };

  return {
    createParcel,
    getParcel,
    createTransportVehicle,
    getTransportVehicle,
    startTransportOrder,
    getTransportOrder,
    transportOrderDomainEvents,
    cancelTransportOrder,
    retryTransportOrderCompensation,
    skipTransportOrderCompensation,
    approveTransportOrder,
    rejectTransportOrder,
  };
}

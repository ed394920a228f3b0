import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import type { z } from 'zod';
import { toCents } from '../../store/db';
import { transportCollections } from '../../store/transport-collections';
import { newParcelDoc, newTransportVehicleDoc, toParcel, toTransportVehicle } from '../../store/views';
import { TransportDecision, type TransportOrderInput, type TransportOrderState } from '../../common/transport';
import { operatorOf } from '../auth';
import { AppError } from '../errors';
import { insertOnce } from '../mongo-errors';
import type { Handlers } from '../operations';
import { logSagaOfRequest } from '../request-log';
import { decide } from '../sagas/transport-decision';
import type { SagaTypeRoutes } from './sagas';
import type { TransportDecisionAccepted } from '../schemas-transport';

export interface TransportOrderRoutesDeps {
  db: Db;
  /** The transport order saga's routes: its client and the handlers it shares with `/sagas/transport-order/…`. */
  saga: SagaTypeRoutes<TransportOrderInput, TransportOrderState>;
}

/**
 * Parcels, transport vehicles, and the transport order saga: start, read, cancel, retry or skip a compensation (the very handlers of
 * `/sagas/transport-order/…`, api/routes/sagas.ts), approve or reject.
 */
export function transportOrderHandlers({
  db,
  saga,
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
  | 'transportOrderPlan'
> {
  const { parcels, transportVehicles } = transportCollections(db);
  const transportOrders = saga.client;

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
    startTransportOrder: saga.handlers.start,
    getTransportOrder: saga.handlers.get,
    transportOrderDomainEvents: saga.handlers.domainEvents,
    cancelTransportOrder: saga.handlers.cancel,
    retryTransportOrderCompensation: saga.handlers.retryCompensation,
    transportOrderPlan: saga.handlers.plan,
    skipTransportOrderCompensation: saga.handlers.skipCompensation,
    approveTransportOrder,
    rejectTransportOrder,
  };
}

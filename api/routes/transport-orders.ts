import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { MongoServerError, type Db } from 'mongodb';
import { collections, toCents } from '../../activities/db';
import { newParcelDoc, toParcel } from '../../activities/participants/parcels';
import { transportCollections } from '../../activities/participants/transport-collections';
import { newTransportVehicleDoc, toTransportVehicle } from '../../activities/participants/transport-vehicles';
import { getStateQuery } from '../../common/definitions';
import { SagaStatus } from '../../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../../common/search-attributes';
import {
  approveSignal,
  rejectSignal,
  TRANSPORT_ORDER,
  TransportDecision,
  transportWorkflowId,
  type TransportOrderInput,
  type TransportOrderState,
} from '../../common/transport';
import type { makeTransportOrder } from '../../workflows';
import { AppError } from '../errors';
import {
  ApproveBody,
  CreateParcel,
  CreateTransportOrder,
  CreateTransportVehicle,
  ParcelIdParam,
  RejectBody,
  TransportOrderIdParam,
} from '../schemas-transport';
import { parse } from '../validation';

export interface TransportOrderRoutesDeps {
  temporal: Client;
  db: Db;
  taskQueue: string;
}

async function insertOnce(insert: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await insert();
  } catch (err) {
    if (err instanceof MongoServerError && err.code === 11000) throw AppError.conflict(`${what} already exists`);
    throw err;
  }
}

/** Parcels, transport vehicles, and the transport order saga with its approve/reject decision. */
export function transportOrderRoutes({ temporal, db, taskQueue }: TransportOrderRoutesDeps): Router {
  const router = Router();
  const { parcels, transportVehicles } = transportCollections(db);
  const { customers } = collections(db);

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
    const { id } = parse(ParcelIdParam, req.params, 'params');
    const doc = await transportVehicles.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Transport vehicle ${id} does not exist`);
    res.json(toTransportVehicle(doc));
  });

  router.post('/transport-orders', async (req, res) => {
    const body = parse(CreateTransportOrder, req.body, 'body');
    if (!(await customers.findOne({ _id: body.customerId }, { projection: { _id: 1 } }))) {
      throw new AppError(422, 'Unprocessable request', `Customer ${body.customerId} does not exist`);
    }
    const orderId = body.orderId ?? randomUUID();
    const input: TransportOrderInput = {
      orderId,
      customerId: body.customerId,
      parcelIds: body.parcelIds,
      ...(body.decisionTimeoutSeconds !== undefined ? { decisionTimeoutMs: body.decisionTimeoutSeconds * 1000 } : {}),
      ...(body.priority !== undefined ? { priority: body.priority } : {}),
    };
    const workflowId = transportWorkflowId(orderId);
    try {
      const handle = await temporal.workflow.start<typeof makeTransportOrder>(TRANSPORT_ORDER, {
        taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: [
          { key: SagaStatusKey, value: SagaStatus.RUNNING },
          { key: CustomerIdKey, value: body.customerId },
        ],
        staticSummary: `Transport order ${orderId} for customer ${body.customerId}`,
        // A transport order id names one saga for good, even after it closed.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      res
        .status(202)
        .location(`/transport-orders/${orderId}`)
        .json({ orderId, workflowId, runId: handle.firstExecutionRunId, status: SagaStatus.RUNNING });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw AppError.conflict(`Transport order ${orderId} has already been started`);
      }
      throw err;
    }
  });

  async function readState(orderId: string): Promise<TransportOrderState> {
    try {
      return (await temporal.workflow
        .getHandle(transportWorkflowId(orderId))
        .query(getStateQuery)) as TransportOrderState;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw AppError.notFound(`Transport order ${orderId} does not exist`);
      throw err;
    }
  }

  router.get('/transport-orders/:orderId', async (req, res) => {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    res.json(await readState(orderId));
  });

  /**
   * Forwards a decision while the saga waits for one. Repeating the decision already taken answers
   * the same (a retried request is harmless); the other decision, or none pending, is a 409.
   */
  async function decide(req: Request, decision: TransportDecision, send: (orderId: string) => Promise<void>) {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    const state = await readState(orderId);
    if (state.decision === decision) return { orderId, decision };
    if (state.decision !== null) {
      throw AppError.conflict(`Transport order ${orderId} was already decided: ${state.decision}`);
    }
    if (state.status !== SagaStatus.RUNNING || state.pendingDecision === null) {
      throw AppError.conflict(`Transport order ${orderId} is not waiting for a decision (status ${state.status})`);
    }
    try {
      await send(orderId);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw AppError.conflict(`Transport order ${orderId} closed before the decision arrived`);
      }
      throw err;
    }
    return { orderId, decision };
  }

  router.post('/transport-orders/:orderId/approve', async (req, res) => {
    parse(ApproveBody, req.body ?? {}, 'body');
    const handle = (orderId: string) => temporal.workflow.getHandle(transportWorkflowId(orderId));
    res.status(202).json(await decide(req, TransportDecision.APPROVED, (id) => handle(id).signal(approveSignal)));
  });

  router.post('/transport-orders/:orderId/reject', async (req, res) => {
    const { reason } = parse(RejectBody, req.body ?? {}, 'body');
    const handle = (orderId: string) => temporal.workflow.getHandle(transportWorkflowId(orderId));
    res
      .status(202)
      .json(
        await decide(req, TransportDecision.REJECTED, (id) =>
          handle(id).signal(rejectSignal, reason !== undefined ? { reason } : {}),
        ),
      );
  });

  return router;
}

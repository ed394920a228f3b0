import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { z } from 'zod';
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
import { insertOnce } from '../mongo-errors';
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
  type TransportOrderStarted,
} from '../schemas-transport';
import { parse } from '../validation';

export interface TransportOrderRoutesDeps {
  temporal: Client;
  db: Db;
  taskQueue: string;
  /** Longest one Temporal call may take before the request answers 503. */
  temporalCallMs: number;
}

/** Parcels, transport vehicles, and the transport order saga with its approve/reject decision. */
export function transportOrderRoutes({ temporal, db, taskQueue, temporalCallMs }: TransportOrderRoutesDeps): Router {
  const router = Router();
  const withDeadline = <T>(fn: () => Promise<T>) => temporal.connection.withDeadline(Date.now() + temporalCallMs, fn);
  const handleOf = (orderId: string) => temporal.workflow.getHandle(transportWorkflowId(orderId));
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
    const { id } = parse(TransportVehicleIdParam, req.params, 'params');
    const doc = await transportVehicles.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Transport vehicle ${id} does not exist`);
    res.json(toTransportVehicle(doc));
  });

  router.post('/transport-orders', async (req, res) => {
    const body = parse(CreateTransportOrder, req.body, 'body');
    if (!(await customers.findOne({ _id: body.customerId }, { projection: { _id: 1 } }))) {
      throw AppError.unprocessable(`Customer ${body.customerId} does not exist`);
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
      const handle = await withDeadline(() =>
        temporal.workflow.start<typeof makeTransportOrder>(TRANSPORT_ORDER, {
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
        }),
      );
      const started: z.infer<typeof TransportOrderStarted> = {
        orderId,
        workflowId,
        runId: handle.firstExecutionRunId,
        status: SagaStatus.RUNNING,
      };
      res.status(202).location(`/transport-orders/${orderId}`).json(started);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw AppError.conflict(`Transport order ${orderId} has already been started`);
      }
      throw err;
    }
  });

  async function readState(orderId: string): Promise<TransportOrderState> {
    try {
      return (await withDeadline(() => handleOf(orderId).query(getStateQuery))) as TransportOrderState;
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
  async function decide(
    orderId: string,
    decision: typeof TransportDecision.APPROVED | typeof TransportDecision.REJECTED,
    send: (orderId: string) => Promise<void>,
  ): Promise<z.infer<typeof TransportDecisionAccepted>> {
    const state = await readState(orderId);
    if (state.decision === decision) return { orderId, decision };
    if (state.decision !== null) {
      throw AppError.conflict(`Transport order ${orderId} was already decided: ${state.decision}`);
    }
    if (state.status !== SagaStatus.RUNNING || state.pendingDecision === null) {
      throw AppError.conflict(`Transport order ${orderId} is not waiting for a decision (status ${state.status})`);
    }
    try {
      await withDeadline(() => send(orderId));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw AppError.conflict(`Transport order ${orderId} closed before the decision arrived`);
      }
      throw err;
    }
    return { orderId, decision };
  }

  router.post('/transport-orders/:orderId/approve', async (req, res) => {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    parse(ApproveBody, req.body ?? {}, 'body');
    const accepted = await decide(orderId, TransportDecision.APPROVED, (id) => handleOf(id).signal(approveSignal));
    res.status(202).location(`/transport-orders/${orderId}`).json(accepted);
  });

  router.post('/transport-orders/:orderId/reject', async (req, res) => {
    const { orderId } = parse(TransportOrderIdParam, req.params, 'params');
    const { reason } = parse(RejectBody, req.body ?? {}, 'body');
    const accepted = await decide(orderId, TransportDecision.REJECTED, (id) =>
      handleOf(id).signal(rejectSignal, reason !== undefined ? { reason } : {}),
    );
    res.status(202).location(`/transport-orders/${orderId}`).json(accepted);
  });

  return router;
}

import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import type { z } from 'zod';
import { collections, toCents } from '../../store/db';
import { transportCollections } from '../../store/transport-collections';
import { newParcelDoc, newTransportVehicleDoc, toParcel, toTransportVehicle } from '../../store/views';
import { getStateQuery } from '../../common/definitions';
import { SagaStatus } from '../../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../../common/search-attributes';
import {
  DECISION_REFUSED,
  decideUpdate,
  TRANSPORT_ORDER,
  TransportDecision,
  transportWorkflowId,
  type DecideArgs,
  type DecideResult,
  type TransportOrderInput,
  type TransportOrderState,
} from '../../common/transport';
import type { makeTransportOrder } from '../../workflows';
import { AppError } from '../errors';
import { answerStartOnce, idempotencyKeys, idempotencyMemo, startedWithKey } from '../idempotency';
import { insertOnce } from '../mongo-errors';
import type { Handlers } from '../operations';
import type { TransportDecisionAccepted, TransportOrderStarted } from '../schemas-transport';

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

/** Parcels, transport vehicles, and the transport order saga with its approve/reject decision. */
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
  | 'approveTransportOrder'
  | 'rejectTransportOrder'
> {
  const withDeadline = <T>(fn: () => Promise<T>) => temporal.connection.withDeadline(Date.now() + temporalCallMs, fn);
  const handleOf = (orderId: string) => temporal.workflow.getHandle(transportWorkflowId(orderId));
  const { parcels, transportVehicles } = transportCollections(db);
  const { customers } = collections(db);
  const keys = idempotencyKeys(db);

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

  /** Starts the saga; `idempotencyKey` goes into its memo so that a retry can tell its own saga from another's. */
  async function startSaga(
    input: TransportOrderInput,
    idempotencyKey: string | undefined,
  ): Promise<z.infer<typeof TransportOrderStarted>> {
    const { orderId, customerId } = input;
    const workflowId = transportWorkflowId(orderId);
    try {
      const handle = await withDeadline(() =>
        temporal.workflow.start<typeof makeTransportOrder>(TRANSPORT_ORDER, {
          taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: [
            { key: SagaStatusKey, value: SagaStatus.RUNNING },
            { key: CustomerIdKey, value: customerId },
          ],
          ...idempotencyMemo(idempotencyKey),
          staticSummary: `Transport order ${orderId} for customer ${customerId}`,
          // A transport order id names one saga for good, even after it closed.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          requestEagerStart: eagerStart,
        }),
      );
      return { orderId, workflowId, runId: handle.firstExecutionRunId, status: SagaStatus.RUNNING };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      if (idempotencyKey) {
        // A retry whose first attempt started the saga but did not get to record the answer.
        const description = await withDeadline(() => handleOf(orderId).describe());
        if (startedWithKey(description, idempotencyKey)) {
          return { orderId, workflowId, runId: description.runId, status: SagaStatus.RUNNING };
        }
      }
      throw AppError.conflict(`Transport order ${orderId} has already been started`);
    }
  }

  const startTransportOrder: Handlers['startTransportOrder'] = async (input, req, res) => {
    const key = input.headers['Idempotency-Key'];
    const body = input.body;
    if (!(await customers.findOne({ _id: body.customerId }, { projection: { _id: 1 } }))) {
      throw AppError.unprocessable(`Customer ${body.customerId} does not exist`);
    }
    const { decisionTimeoutSeconds, priority } = body;
    await answerStartOnce(req, res, {
      keys,
      retentionMs: idempotencyRetentionMs,
      key,
      body,
      operation: 'startTransportOrder',
      orderId: body.orderId ?? randomUUID(),
      location: (orderId) => `/transport-orders/${orderId}`,
      start: (orderId, idempotencyKey) =>
        startSaga(
          {
            orderId,
            customerId: body.customerId,
            parcelIds: body.parcelIds,
            ...(decisionTimeoutSeconds !== undefined ? { decisionTimeoutMs: decisionTimeoutSeconds * 1000 } : {}),
            ...(priority !== undefined ? { priority } : {}),
          },
          idempotencyKey,
        ),
    });
  };

  async function readState(orderId: string): Promise<TransportOrderState> {
    try {
      return (await withDeadline(() => handleOf(orderId).query(getStateQuery))) as TransportOrderState;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw AppError.notFound(`Transport order ${orderId} does not exist`);
      throw err;
    }
  }

  const getTransportOrder: Handlers['getTransportOrder'] = async (input, req, res) => {
    const { orderId } = input.params;
    res.json(await readState(orderId));
  };

  /**
   * Takes the decision with the saga's `decide` update: its validator refuses it (409) unless a decision is
   * pending or the same one was already taken, atomically inside the workflow, so of two concurrent opposite
   * decisions exactly one is accepted. Repeating the decision taken answers the same (a retry is harmless).
   */
  async function decide(orderId: string, args: DecideArgs): Promise<DecideResult> {
    try {
      return await withDeadline(() => handleOf(orderId).executeUpdate(decideUpdate, { args: [args] }));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        if (err.cause instanceof ApplicationFailure && err.cause.type === DECISION_REFUSED) {
          throw AppError.conflict(err.cause.message);
        }
        throw err;
      }
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        throw AppError.unavailable('Temporal did not answer in time; retry later');
      }
      // Unknown, or closed (an update cannot reach a closed run): its final state says which.
      if (err instanceof WorkflowNotFoundError) return decidedWhenClosed(orderId, args.decision);
      throw err;
    }
  }

  async function decidedWhenClosed(orderId: string, decision: DecideArgs['decision']): Promise<DecideResult> {
    const state = await readState(orderId); // 404 when there is no such transport order
    if (state.decision === decision) return { orderId, decision };
    if (state.decision !== null) {
      throw AppError.conflict(`Transport order ${orderId} was already decided: ${state.decision}`);
    }
    throw AppError.conflict(`Transport order ${orderId} has finished (status ${state.status}); it takes no decision`);
  }

  const approveTransportOrder: Handlers['approveTransportOrder'] = async (input, req, res) => {
    const { orderId } = input.params; // the body, if any, is `{}`: the table checked it
    const accepted: z.infer<typeof TransportDecisionAccepted> = await decide(orderId, {
      decision: TransportDecision.APPROVED,
    });
    res.status(202).location(`/transport-orders/${orderId}`).json(accepted);
  };

  const rejectTransportOrder: Handlers['rejectTransportOrder'] = async (input, req, res) => {
    const { orderId } = input.params;
    const { reason } = input.body;
    const accepted: z.infer<typeof TransportDecisionAccepted> = await decide(orderId, {
      decision: TransportDecision.REJECTED,
      ...(reason !== undefined ? { reason } : {}),
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
    approveTransportOrder,
    rejectTransportOrder,
  };
}

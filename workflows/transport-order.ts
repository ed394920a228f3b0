/**
 * The transport order saga: a parallel fan-out with a join, then a person's decision with a deadline.
 *
 *   createTransportOrder              ↺ cancelTransportOrder
 *   ┌ addParcel:<p1> ┐                ↺ removeParcelFromTransport (one per parcel,
 *   │ addParcel:<p2> │ in parallel,     undone in reverse of the order they were pushed)
 *   └ addParcel:<pN> ┘ joined
 *   chooseVehicle                     (reads: cheapest vehicle with room for the total weight)
 *   reserveVehicleResource            ↺ releaseVehicleResource (earliest free date, with a priority)
 *   assignVehicle                     ↺ unassignVehicle
 *   awaitDecision                     approve ──▶ COMPLETED
 *                                     reject, or no decision before the deadline ──▶ compensate
 *
 * The decision comes as the `decide` update (its validator refuses a decision when none is pending or the
 * other one was taken, so two people deciding at once get one yes and one no) or, for older clients, as
 * the `approve`/`reject` signals (first one wins, the sender is not told).
 *
 * Any step's business failure, retries running out, a rejection, the deadline passing or a
 * cancellation undoes the started steps in reverse order and ends `COMPENSATED` with the reason in
 * `failure`. Every participant call is idempotent by `workflowId:step`.
 */
import {
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { BusinessFailure } from '../common/failures';
import { SagaStatus } from '../common/saga-state';
import { CustomerIdKey } from '../common/search-attributes';
import { SagaType } from '../common/domain-events';
import {
  addParcelStep,
  approveSignal,
  DECISION_REFUSED,
  decideUpdate,
  DEFAULT_DECISION_TIMEOUT_MS,
  rejectSignal,
  TransportDecision,
  TransportPriority,
  TransportStep,
  type TransportOrderInput,
  type PersonDecision,
  type TransportOrderState,
} from '../common/transport';
import { OperatorActionName, type OperatorActor } from '../common/operator-action';
import { call, Saga, waitFor, type StepSpec } from './saga/compensation-stack';
import { compensationCall, participantCall } from './saga/policies';

const participant = proxyActivities<Activities>(participantCall);
const undo = proxyActivities<Activities>(compensationCall);

const DAY_MS = 24 * 60 * 60 * 1000;

/** The saga's own start time plus one day, as `YYYY-MM-DD` (workflow time: deterministic). */
function tomorrow(): string {
  return new Date(Date.now() + DAY_MS).toISOString().slice(0, 10);
}

export async function makeTransportOrder(input: TransportOrderInput): Promise<TransportOrderState> {
  const { orderId, customerId } = input;
  const parcelIds = [...new Set(input.parcelIds)];
  const decisionTimeoutMs = input.decisionTimeoutMs ?? DEFAULT_DECISION_TIMEOUT_MS;
  const priority = input.priority ?? TransportPriority.NORMAL;
  const key = (step: string): string => `${workflowInfo().workflowId}:${step}`;
  const transport = `Transport order ${orderId}`;

  if (workflowInfo().typedSearchAttributes.get(CustomerIdKey) === undefined) {
    upsertSearchAttributes([{ key: CustomerIdKey, value: customerId }]);
  }
  const saga = new Saga<TransportOrderState>(
    {
      orderId,
      customerId,
      parcelIds,
      totalWeightKg: null,
      vehicleId: null,
      price: null,
      reservedDate: null,
      priority,
      pendingDecision: null,
      decision: null,
      decisionReason: null,
      status: SagaStatus.RUNNING,
      steps: [],
      failure: null,
      compensationFailure: null,
      cancelled: false,
      operatorActions: [],
    },
    { sagaType: SagaType.transportOrder, sagaId: orderId, customerId },
  );
  const state = saga.state;
  // The first decision wins. One that arrives before the saga waits for it is kept and applies
  // when the wait starts (the API only forwards decisions while one is pending). The decision taken is
  // recorded in `operatorActions` with its actor; one that changes nothing (a repeat, a later one) is not.
  const take = (decision: PersonDecision, arg: OperatorActor | undefined): void => {
    if (state.decision !== null) return;
    state.decision = decision;
    const rejected = decision === TransportDecision.REJECTED;
    if (rejected) state.decisionReason = arg?.reason ?? null;
    log.info('Decision taken', { step: TransportStep.awaitDecision, decision }); // not who: that is in the state
    saga.recordOperatorAction(rejected ? OperatorActionName.reject : OperatorActionName.approve, arg);
  };
  setHandler(approveSignal, (arg) => take(TransportDecision.APPROVED, arg));
  setHandler(rejectSignal, (arg) => take(TransportDecision.REJECTED, arg));
  // Registering an update handler adds no command: histories recorded before it replay unchanged.
  setHandler(
    decideUpdate,
    ({ decision, ...actor }) => {
      if (state.decision === null) saga.answeringUpdate(); // a repeat changes nothing and appends nothing
      take(decision, actor);
      return { orderId, decision };
    },
    {
      validator: ({ decision }) => {
        const refuse = (message: string) => ApplicationFailure.create({ message, type: DECISION_REFUSED });
        if (decision !== TransportDecision.APPROVED && decision !== TransportDecision.REJECTED) {
          throw refuse(`decision must be ${TransportDecision.APPROVED} or ${TransportDecision.REJECTED}`);
        }
        if (state.decision === decision) return; // the same decision again: accepted, changes nothing
        if (state.decision !== null) throw refuse(`Transport order ${orderId} was already decided: ${state.decision}`);
        if (state.pendingDecision === null) {
          throw refuse(`Transport order ${orderId} is not waiting for a decision (status ${state.status})`);
        }
      },
    },
  );

  return saga.run(async () => {
    const orderKey = key(TransportStep.createTransportOrder);
    await saga.step({
      name: TransportStep.createTransportOrder,
      summary: `${transport}: create it for customer ${customerId}`,
      run: call(participant.createTransportOrder, { key: orderKey, orderId, customerId }),
      compensation: {
        name: 'cancelTransportOrder',
        summary: `${transport}: cancel it`,
        run: call(undo.cancelTransportOrder, { key: orderKey }),
      },
    });

    const additions = parcelIds.map((parcelId) => {
      const parcel = { key: key(addParcelStep(parcelId)), parcelId, orderId };
      return {
        name: addParcelStep(parcelId),
        summary: `${transport}: add parcel ${parcelId}`,
        run: call(participant.addParcelToTransport, parcel),
        compensation: {
          name: 'removeParcelFromTransport',
          summary: `${transport}: take parcel ${parcelId} off`,
          run: call(undo.removeParcelFromTransport, parcel),
        },
      } satisfies StepSpec<unknown>;
    });
    const added = await saga.all(additions);
    state.totalWeightKg = added.reduce((sum, { weightKg }) => sum + weightKg, 0);

    const { vehicleId, priceCents } = await saga.step({
      name: TransportStep.chooseVehicle,
      summary: `${transport}: choose the cheapest vehicle for ${state.totalWeightKg} kg`,
      run: call(participant.chooseVehicle, { totalWeightKg: state.totalWeightKg }),
    });
    state.vehicleId = vehicleId;
    state.price = priceCents / 100;
    saga.setTotal(state.price);

    const reservation = {
      key: key(TransportStep.reserveVehicleResource),
      orderId,
      vehicleId,
      fromDate: tomorrow(),
      priority,
    };
    const reserved = await saga.step({
      name: TransportStep.reserveVehicleResource,
      summary: `${transport}: reserve vehicle ${vehicleId} on its earliest free date (${priority})`,
      run: call(participant.reserveVehicleResource, reservation),
      compensation: {
        name: 'releaseVehicleResource',
        summary: `${transport}: release the reservation of vehicle ${vehicleId}`,
        run: call(undo.releaseVehicleResource, reservation),
      },
    });
    if (reserved.date === null) {
      // Only possible if the release ran first, which the saga never does before a failure.
      throw ApplicationFailure.nonRetryable(
        `The reservation of vehicle ${vehicleId} was already released`,
        BusinessFailure.NoVehicleAvailable,
      );
    }
    state.reservedDate = reserved.date;

    const assignment = { orderKey, vehicleId, date: reserved.date };
    await saga.step({
      name: TransportStep.assignVehicle,
      summary: `${transport}: assign vehicle ${vehicleId} for ${reserved.date}`,
      run: call(participant.assignVehicle, assignment),
      compensation: {
        name: 'unassignVehicle',
        summary: `${transport}: unassign vehicle ${vehicleId}`,
        run: call(undo.unassignVehicle, assignment),
      },
    });

    await saga.step({
      name: TransportStep.awaitDecision,
      summary: `${transport}: wait for approve or reject`,
      run: waitFor(async () => {
        state.pendingDecision = { deadline: new Date(Date.now() + decisionTimeoutMs).toISOString() };
        log.info('Waiting for a decision: approve or reject', {
          step: TransportStep.awaitDecision,
          deadline: state.pendingDecision.deadline,
        });
        try {
          if (!(await condition(() => state.decision !== null, decisionTimeoutMs))) {
            state.decision = TransportDecision.TIMED_OUT;
            log.info('No decision before the deadline', { step: TransportStep.awaitDecision });
          }
        } finally {
          state.pendingDecision = null;
        }
        return decisionOutcome(state);
      }),
    });
  });
}

/** Approval passes; a rejection or the deadline passing is a business failure the saga compensates. */
function decisionOutcome(state: TransportOrderState): TransportDecision {
  const { decision, decisionReason } = state;
  if (decision === TransportDecision.REJECTED) {
    throw ApplicationFailure.nonRetryable(
      `Transport order ${state.orderId} was rejected${decisionReason ? `: ${decisionReason}` : ''}`,
      BusinessFailure.Rejected,
    );
  }
  if (decision !== TransportDecision.APPROVED) {
    throw ApplicationFailure.nonRetryable(
      `No decision on transport order ${state.orderId} before its deadline`,
      BusinessFailure.DecisionTimedOut,
    );
  }
  return decision;
}

/**
 * The transport order, as a definition: a parallel fan-out with a join, then a person's decision with a deadline
 * (run by `workflows/saga/run-definition.ts`; the diagram: docs/sagas.md).
 *
 *   createTransportOrder              compensatable  ↺ cancelTransportOrder
 *   ┌ addParcel:<p1> ┐                compensatable  ↺ removeParcelFromTransport (one per parcel,
 *   │ addParcel:<p2> │ in parallel,                    undone in reverse of the order they were pushed)
 *   └ addParcel:<pN> ┘ joined
 *   chooseVehicle                     read           (cheapest vehicle with room for the total weight)
 *   reserveVehicleResource            compensatable  ↺ releaseVehicleResource (earliest free date, with a priority)
 *   assignVehicle                     compensatable  ↺ unassignVehicle
 *   awaitDecision                     approval       approve ──▶ COMPLETED
 *                                                    reject, or no decision before the deadline ──▶ compensate
 *
 * Any step's business failure, retries running out, a rejection, the deadline passing or a cancellation undoes the
 * started steps in reverse order and ends `COMPENSATED` with the reason in `failure`. Every participant call is
 * idempotent by `workflowId:step`; every call is a regular activity.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { BusinessFailure } from '../../common/failures';
import { SagaType } from '../../common/domain-events';
import {
  addParcelStep,
  DEFAULT_DECISION_TIMEOUT_MS,
  TRANSPORT_ORDER,
  TransportPriority,
  TransportStep,
  type TransportOrderInput,
  type TransportOrderState,
} from '../../common/transport';
import { defineSaga } from '../saga/definition';
import { sagaConfigChoice } from '../saga/config';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The saga's own start time plus one day, as `YYYY-MM-DD` (workflow time: deterministic). */
function tomorrow(): string {
  return new Date(Date.now() + DAY_MS).toISOString().slice(0, 10);
}

const transport = (input: TransportOrderInput) => `Transport order ${input.orderId}`;

export const transportOrderDefinition = defineSaga<TransportOrderInput, TransportOrderState>({
  name: SagaType.transportOrder,
  version: 1,
  workflowType: TRANSPORT_ORDER,
  description:
    'Creates a transport order, adds its parcels in parallel, books the cheapest vehicle with room, then waits for a person to approve it.',
  sagaId: (input) => input.orderId,
  customerId: (input) => input.customerId,
  initialState: ({ orderId, customerId, parcelIds, priority }) => ({
    orderId,
    customerId,
    parcelIds: [...new Set(parcelIds)], // duplicates dropped
    totalWeightKg: null,
    vehicleId: null,
    price: null,
    reservedDate: null,
    priority: priority ?? TransportPriority.NORMAL,
    pendingDecision: null,
    decision: null,
    decisionReason: null,
  }),
  choices: [sagaConfigChoice(SagaType.transportOrder)],
})
  .step(TransportStep.createTransportOrder, {
    kind: 'compensatable',
    summary: ({ input }) => `${transport(input)}: create it for customer ${input.customerId}`,
    call: {
      activity: 'createTransportOrder',
      mode: 'regular',
      preset: 'participant',
      args: ({ input, key }) => ({
        key: key(TransportStep.createTransportOrder),
        orderId: input.orderId,
        customerId: input.customerId,
      }),
    },
    compensation: {
      activity: 'cancelTransportOrder',
      preset: 'compensation',
      summary: ({ input }) => `${transport(input)}: cancel it`,
      args: ({ key }) => ({ key: key(TransportStep.createTransportOrder) }),
    },
  })
  .parallel(TransportStep.addParcel, {
    kind: 'compensatable',
    over: 'parcelIds',
    each: ({ state }) => state.parcelIds,
    member: addParcelStep,
    summary: ({ input }, parcelId) => `${transport(input)}: add parcel ${parcelId}`,
    call: {
      activity: 'addParcelToTransport',
      mode: 'regular',
      preset: 'participant',
      args: ({ input, key }, parcelId) => ({ key: key(addParcelStep(parcelId)), parcelId, orderId: input.orderId }),
    },
    compensation: {
      activity: 'removeParcelFromTransport',
      preset: 'compensation',
      summary: ({ input }, parcelId) => `${transport(input)}: take parcel ${parcelId} off`,
      args: ({ input, key }, parcelId) => ({ key: key(addParcelStep(parcelId)), parcelId, orderId: input.orderId }),
    },
    then: ({ state }, added) => {
      state.totalWeightKg = added.reduce((sum, { weightKg }) => sum + weightKg, 0);
    },
  })
  .step(TransportStep.chooseVehicle, {
    kind: 'read',
    summary: ({ input, state }) => `${transport(input)}: choose the cheapest vehicle for ${state.totalWeightKg} kg`,
    call: {
      activity: 'chooseVehicle',
      mode: 'regular',
      preset: 'participant',
      args: ({ state }) => ({ totalWeightKg: state.totalWeightKg ?? 0 }),
    },
    then: (ctx, { vehicleId, priceCents }) => {
      ctx.state.vehicleId = vehicleId;
      ctx.state.price = priceCents / 100;
      ctx.setTotal(ctx.state.price);
    },
  })
  .step(TransportStep.reserveVehicleResource, {
    kind: 'compensatable',
    summary: ({ input, state, results }) =>
      `${transport(input)}: reserve vehicle ${results.chooseVehicle.vehicleId} on its earliest free date (${state.priority})`,
    call: {
      activity: 'reserveVehicleResource',
      mode: 'regular',
      preset: 'participant',
      args: ({ input, state, key, results }) => ({
        key: key(TransportStep.reserveVehicleResource),
        orderId: input.orderId,
        vehicleId: results.chooseVehicle.vehicleId,
        fromDate: tomorrow(),
        priority: state.priority,
      }),
    },
    compensation: {
      activity: 'releaseVehicleResource',
      preset: 'compensation',
      summary: ({ input, results }) =>
        `${transport(input)}: release the reservation of vehicle ${results.chooseVehicle.vehicleId}`,
      args: ({ input, state, key, results }) => ({
        key: key(TransportStep.reserveVehicleResource),
        orderId: input.orderId,
        vehicleId: results.chooseVehicle.vehicleId,
        fromDate: tomorrow(),
        priority: state.priority,
      }),
    },
    then: ({ state, results }, reserved) => {
      if (reserved.date === null) {
        // Only possible if the release ran first, which the saga never does before a failure.
        throw ApplicationFailure.nonRetryable(
          `The reservation of vehicle ${results.chooseVehicle.vehicleId} was already released`,
          BusinessFailure.NoVehicleAvailable,
        );
      }
      state.reservedDate = reserved.date;
    },
  })
  .step(TransportStep.assignVehicle, {
    kind: 'compensatable',
    summary: ({ input, state, results }) =>
      `${transport(input)}: assign vehicle ${results.chooseVehicle.vehicleId} for ${state.reservedDate}`,
    call: {
      activity: 'assignVehicle',
      mode: 'regular',
      preset: 'participant',
      args: ({ state, key, results }) => ({
        orderKey: key(TransportStep.createTransportOrder),
        vehicleId: results.chooseVehicle.vehicleId,
        date: state.reservedDate ?? '',
      }),
    },
    compensation: {
      activity: 'unassignVehicle',
      preset: 'compensation',
      summary: ({ input, results }) => `${transport(input)}: unassign vehicle ${results.chooseVehicle.vehicleId}`,
      args: ({ state, key, results }) => ({
        orderKey: key(TransportStep.createTransportOrder),
        vehicleId: results.chooseVehicle.vehicleId,
        date: state.reservedDate ?? '',
      }),
    },
  })
  .approval(TransportStep.awaitDecision, {
    subject: ({ input }) => transport(input),
    // The order's own timeout, else the stored configuration's deadline, else 24 hours.
    deadlineMs: ({ input }, configuredMs) => input.decisionTimeoutMs ?? configuredMs ?? DEFAULT_DECISION_TIMEOUT_MS,
    summary: ({ input }) => `${transport(input)}: wait for approve or reject`,
  })
  .build();

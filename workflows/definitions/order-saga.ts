/**
 * The order saga, as a definition (run by `workflows/saga/run-definition.ts`; the diagram: docs/sagas.md).
 *
 *   priceOrder        read           (stored prices; the total is never taken from the client)
 *   reserveCredit     compensatable  ↺ releaseCredit
 *   reserveInventory  compensatable  ↺ releaseInventory
 *   processPayment    compensatable  ↺ refundPayment
 *   createShipment    compensatable  ↺ cancelShipment
 *   reserveVehicle    compensatable  ↺ releaseVehicle
 *   then, once COMPLETED: recordCompletedOrder (the customer's loyalty workflow; not a step)
 *
 * No pivot: every step that changes something can be undone, up to the last. Every participant call is idempotent
 * by `workflowId:step`.
 *
 * Call modes. Local (inside the worker's workflow task: fewer round trips) for a short, idempotent call that finishes
 * well within `participantCall`'s 10 s and never heartbeats; re-execution (a lost marker, a worker crash) is covered
 * by the idempotency key. Regular for a step that may be long, needs heartbeats, or where a saga must be observable
 * and cancellable while the step runs: consecutive local steps run in ONE workflow task, and the workflow sees a
 * cancel request and answers queries only between workflow tasks. So `processPayment`, the call to the payment
 * provider (the one step whose latency is not ours, and the point where a running saga is seen and cancelled), stays
 * regular. A cancel that arrives while the last local steps run is honoured when they finish: if they succeed, the
 * order completes, as if the cancel had come just after. Compensations are always regular: they run rarely, and
 * operators follow them in the history and the Web UI. Sagas started before `patched('local-participant-calls')` run
 * every step as a regular activity.
 */
import { OrderStep, ORDER_SAGA, type OrderSagaInput, type OrderState } from '../../common/order';
import { SagaType } from '../../common/domain-events';
import { defineSaga } from '../saga/definition';

/** Patch id: the steps' participant calls run as local activities (all but processPayment). */
export const LOCAL_PARTICIPANT_CALLS = 'local-participant-calls';
/** Patch id: a completed order is reported to the customer's loyalty workflow. */
export const LOYALTY_SIGNAL = 'loyalty-signal';

const order = (input: OrderSagaInput) => `Order ${input.orderId}`;

export const orderSagaDefinition = defineSaga<OrderSagaInput, OrderState>({
  name: SagaType.order,
  version: 1,
  workflowType: ORDER_SAGA,
  description: 'Prices an order, then reserves credit and stock, charges, ships and books a vehicle.',
  sagaId: (input) => input.orderId,
  customerId: (input) => input.customerId,
  initialState: ({ orderId, customerId }) => ({ orderId, customerId, total: null }),
  localCallsPatch: LOCAL_PARTICIPANT_CALLS,
})
  .step(OrderStep.priceOrder, {
    kind: 'read',
    summary: ({ input }) => `${order(input)}: price ${input.items.length} item line(s)`,
    call: {
      activity: 'priceOrder',
      mode: 'local',
      preset: 'participant',
      args: ({ input }) => ({ items: input.items }),
    },
    then: (ctx, { totalCents }) => {
      ctx.state.total = totalCents / 100;
      ctx.setTotal(ctx.state.total);
    },
  })
  .step(OrderStep.reserveCredit, {
    kind: 'compensatable',
    summary: ({ input, state }) => `${order(input)}: reserve ${state.total} of credit for customer ${input.customerId}`,
    call: {
      activity: 'reserveCredit',
      mode: 'local',
      preset: 'participant',
      args: ({ input, key, results }) => ({
        key: key(OrderStep.reserveCredit),
        customerId: input.customerId,
        amountCents: results.priceOrder.totalCents,
      }),
    },
    compensation: {
      activity: 'releaseCredit',
      preset: 'compensation',
      summary: ({ input }) => `${order(input)}: release credit of customer ${input.customerId}`,
      args: ({ input, key }) => ({ key: key(OrderStep.reserveCredit), customerId: input.customerId }),
    },
  })
  .step(OrderStep.reserveInventory, {
    kind: 'compensatable',
    summary: ({ input }) => `${order(input)}: reserve stock for ${input.items.length} item line(s)`,
    call: {
      activity: 'reserveInventory',
      mode: 'local',
      preset: 'participant',
      args: ({ input, key }) => ({ key: key(OrderStep.reserveInventory), items: input.items }),
    },
    compensation: {
      activity: 'releaseInventory',
      preset: 'compensation',
      summary: ({ input }) => `${order(input)}: put reserved stock back`,
      args: ({ input, key }) => ({ key: key(OrderStep.reserveInventory), items: input.items }),
    },
  })
  .step(OrderStep.processPayment, {
    kind: 'compensatable',
    summary: ({ input, state }) => `${order(input)}: charge ${state.total}`,
    call: {
      activity: 'processPayment',
      mode: 'regular',
      preset: 'participant',
      args: ({ input, key, results }) => ({
        key: key(OrderStep.processPayment),
        orderId: input.orderId,
        customerId: input.customerId,
        amountCents: results.priceOrder.totalCents,
        token: input.payment.token,
      }),
    },
    compensation: {
      activity: 'refundPayment',
      preset: 'compensation',
      summary: ({ input }) => `${order(input)}: refund the charge`,
      args: ({ key }) => ({ key: key(OrderStep.processPayment) }),
    },
  })
  .step(OrderStep.createShipment, {
    kind: 'compensatable',
    summary: ({ input }) => `${order(input)}: create shipment to ${input.shippingAddress.country}`,
    call: {
      activity: 'createShipment',
      mode: 'local',
      preset: 'participant',
      args: ({ input, key }) => ({
        key: key(OrderStep.createShipment),
        orderId: input.orderId,
        address: input.shippingAddress,
        deliveryDate: input.deliveryDate,
      }),
    },
    compensation: {
      activity: 'cancelShipment',
      preset: 'compensation',
      summary: ({ input }) => `${order(input)}: cancel the shipment`,
      args: ({ key }) => ({ key: key(OrderStep.createShipment) }),
    },
  })
  .step(OrderStep.reserveVehicle, {
    kind: 'compensatable',
    summary: ({ input }) => `${order(input)}: book a vehicle for ${input.deliveryDate}`,
    call: {
      activity: 'reserveVehicle',
      mode: 'local',
      preset: 'participant',
      args: ({ input, key }) => ({ key: key(OrderStep.reserveVehicle), deliveryDate: input.deliveryDate }),
    },
    compensation: {
      activity: 'releaseVehicle',
      preset: 'compensation',
      summary: ({ input }) => `${order(input)}: free the vehicle booking`,
      args: ({ input, key }) => ({ key: key(OrderStep.reserveVehicle), deliveryDate: input.deliveryDate }),
    },
  })
  .build({
    // Signal-with-start of the customer's loyalty workflow, from an activity (workflows cannot signal-with-start).
    afterCompleted: {
      activity: 'recordCompletedOrder',
      preset: 'untilDone',
      patch: LOYALTY_SIGNAL,
      args: ({ input }) => ({ customerId: input.customerId, orderId: input.orderId }),
    },
  });

/**
 * The order saga, as a definition (run by `workflows/saga/run-definition.ts`; the diagram: docs/sagas.md).
 *
 *   priceOrder        read           (stored prices; the total is never taken from the client)
 *   reserveCredit     compensatable  ↺ releaseCredit
 *   reserveInventory  compensatable  ↺ releaseInventory
 *   processPayment    compensatable  ↺ refundPayment
 *   createShipment    compensatable  ↺ cancelShipment
 *   reserveVehicle    compensatable  ↺ releaseVehicle
 *   then, once COMPLETED: recordCompletedOrder (the customer's loyalty workflow; not a step). Since
 *   `patched('loyalty-in-task')` a local activity started beside the last domain event's append, in the saga's last
 *   workflow task (before: a regular activity after it, one more workflow task). Counted once: the loyalty workflow
 *   drops an order id it has already counted, so a retried signal-with-start counts nothing twice.
 *
 * No pivot: every step that changes something can be undone, up to the last. Every participant call is idempotent
 * by `workflowId:step`.
 *
 * Since `patched('carrier-choice')` the saga records at its start which carrier it talks to (`chooseCarrier`, a local
 * activity reading the worker's CARRIER): `in-process` as before, or `broker`, where `createShipment` and
 * `cancelShipment` are commands to the carrier process over RabbitMQ, regular activities completed asynchronously by
 * its reply (the step's `broker` variant; activities/participants/carrier-by-command.ts). Sagas started before it
 * have no choice recorded and use the in-process carrier.
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
import { CARRIER_CHOICE_PATCH, type CarrierChoice } from '../../common/carrier';
import { defineSaga } from '../saga/definition';
import { sagaConfigChoice } from '../saga/config';
import { carrierCommandCall, carrierCompensationCall } from '../saga/policies';

const carrierOf = (choices: Readonly<Record<string, unknown>>) => choices.carrier as CarrierChoice;
function brokerOf(choices: Readonly<Record<string, unknown>>) {
  const choice = carrierOf(choices);
  if (choice.carrier !== 'broker') throw new Error('the broker variant runs only for a saga that chose it');
  return choice;
}

/** Patch id: the steps' participant calls run as local activities (all but processPayment). */
export const LOCAL_PARTICIPANT_CALLS = 'local-participant-calls';
/** Patch id: a completed order is reported to the customer's loyalty workflow. */
export const LOYALTY_SIGNAL = 'loyalty-signal';
/** Patch id: the loyalty notification is a local activity in the saga's last workflow task, beside its last append. */
export const LOYALTY_IN_TASK = 'loyalty-in-task';

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
  choices: [
    {
      name: 'carrier',
      activity: 'chooseCarrier',
      patch: CARRIER_CHOICE_PATCH,
      fallback: { carrier: 'in-process' } satisfies CarrierChoice,
      description: "the carrier: in-process, or the carrier process over the broker (the worker's CARRIER)",
    },
    sagaConfigChoice(SagaType.order),
  ],
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
    variants: [
      {
        // By command to the carrier process, each call completed by its reply (or its timeout).
        name: 'broker',
        when: ({ choices }) => carrierOf(choices).carrier === 'broker',
        summary: ({ input }) => `${order(input)}: ask the carrier to ship to ${input.shippingAddress.country}`,
        call: { activity: 'createShipmentByCommand', options: ({ choices }) => carrierCommandCall(brokerOf(choices)) },
        compensation: {
          activity: 'cancelShipmentByCommand',
          options: ({ choices }) => carrierCompensationCall(brokerOf(choices)),
          summary: ({ input }) => `${order(input)}: ask the carrier to cancel the shipment`,
        },
      },
    ],
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
      inTaskPatch: LOYALTY_IN_TASK,
      args: ({ input }) => ({ customerId: input.customerId, orderId: input.orderId }),
    },
  });

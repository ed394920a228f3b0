/**
 * The order-fulfilment saga, as a definition (run by `workflows/saga/run-definition.ts`; the diagram: docs/sagas.md;
 * how it was added: docs/adding-a-saga.md). Started by an `OrderPlaced` message (the order intake with
 * ORDER_INTAKE_SAGA_TYPE=order-fulfilment).
 *
 *   priceOrder        read           (stored prices; the total is never taken from the message)
 *   reserveInventory  compensatable  ↺ releaseInventory   (every line checked: OutOfStock lists every unavailable sku)
 *   chargePayment     compensatable  ↺ refundPayment
 *   createShipment    compensatable  ↺ cancelShipment
 *   once COMPENSATED: OrderCancelled { cancelledBy, refundIssued, failureStep, failureType, unavailableSkus }
 *
 * Any step's business failure, retries running out, or a cancellation undoes the started steps in reverse order;
 * the saga then reports who cancelled (`system` for a step's failure, `customer` for a cancel through the API,
 * `operator` for one from the CLI or the Web UI) and whether the charge was refunded (`onCancelled`), in its state
 * and as the `OrderCancelled` domain event. Every participant call is a regular activity, idempotent by
 * `workflowId:step`.
 */
import { SagaType, DomainEventType } from '../../common/domain-events';
import {
  FulfilmentStep,
  ORDER_FULFILMENT,
  type OrderFulfilmentInput,
  type OrderFulfilmentState,
} from '../../common/order-fulfilment';
import { defineSaga } from '../saga/definition';
import { sagaConfigChoice } from '../saga/config';

const order = (input: OrderFulfilmentInput) => `Order ${input.orderId}`;

export const orderFulfilmentDefinition = defineSaga<OrderFulfilmentInput, OrderFulfilmentState>({
  name: SagaType.orderFulfilment,
  version: 1,
  workflowType: ORDER_FULFILMENT,
  description:
    'On OrderPlaced: reserves the stock of every line, charges the payment and ships; reports OrderCancelled when undone.',
  sagaId: (input) => input.orderId,
  customerId: (input) => input.customerId,
  initialState: ({ orderId, customerId }) => ({ orderId, customerId, total: null, cancellation: null }),
  onCancelled: { event: DomainEventType.OrderCancelled, refundStep: FulfilmentStep.chargePayment },
  // Its stored configuration, read at its start (docs/sagas.md, "Stored configuration"); sagas recorded before the
  // patch replay without it.
  choices: [sagaConfigChoice(SagaType.orderFulfilment)],
})
  .step(FulfilmentStep.priceOrder, {
    kind: 'read',
    summary: ({ input }) => `${order(input)}: price ${input.items.length} item line(s)`,
    call: {
      activity: 'priceOrder',
      mode: 'regular',
      preset: 'participant',
      args: ({ input }) => ({ items: input.items }),
    },
    then: (ctx, { totalCents }) => {
      ctx.state.total = totalCents / 100;
      ctx.setTotal(ctx.state.total);
    },
  })
  .step(FulfilmentStep.reserveInventory, {
    kind: 'compensatable',
    summary: ({ input }) => `${order(input)}: reserve stock for ${input.items.length} item line(s)`,
    call: {
      activity: 'reserveInventory',
      mode: 'regular',
      preset: 'participant',
      args: ({ input, key }) => ({ key: key(FulfilmentStep.reserveInventory), items: input.items }),
    },
    compensation: {
      activity: 'releaseInventory',
      preset: 'compensation',
      summary: ({ input }) => `${order(input)}: put reserved stock back`,
      args: ({ input, key }) => ({ key: key(FulfilmentStep.reserveInventory), items: input.items }),
    },
  })
  .step(FulfilmentStep.chargePayment, {
    kind: 'compensatable',
    summary: ({ input, state }) => `${order(input)}: charge ${state.total}`,
    call: {
      activity: 'processPayment',
      mode: 'regular',
      preset: 'participant',
      args: ({ input, key, results }) => ({
        key: key(FulfilmentStep.chargePayment),
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
      args: ({ key }) => ({ key: key(FulfilmentStep.chargePayment) }),
    },
  })
  .step(FulfilmentStep.createShipment, {
    kind: 'compensatable',
    summary: ({ input }) => `${order(input)}: create shipment to ${input.shippingAddress.country}`,
    call: {
      activity: 'createShipment',
      mode: 'regular',
      preset: 'participant',
      args: ({ input, key }) => ({
        key: key(FulfilmentStep.createShipment),
        orderId: input.orderId,
        address: input.shippingAddress,
        deliveryDate: input.deliveryDate,
      }),
    },
    compensation: {
      activity: 'cancelShipment',
      preset: 'compensation',
      summary: ({ input }) => `${order(input)}: cancel the shipment`,
      args: ({ key }) => ({ key: key(FulfilmentStep.createShipment) }),
    },
  })
  .build();

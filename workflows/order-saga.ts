/**
 * The order saga.
 *
 *   priceOrder        (reads stored prices; nothing to undo)
 *   reserveCredit     ↺ releaseCredit
 *   reserveInventory  ↺ releaseInventory
 *   processPayment    ↺ refundPayment
 *   createShipment    ↺ cancelShipment
 *   reserveVehicle    ↺ releaseVehicle
 *
 * Any step's business failure, retries running out, or a cancellation undoes the started steps in
 * reverse order. Every participant call is idempotent by `workflowId:step`.
 *
 * Once COMPLETED, the order is reported to the customer's loyalty workflow (`recordCompletedOrder`,
 * signal-with-start): not a step, nothing to undo, retried until it succeeds, not cancellable.
 * Introduced behind `patched('loyalty-signal')` so that sagas recorded before it replay unchanged.
 *
 * Since `patched('local-participant-calls')` the steps' participant calls run as local activities
 * (all but `processPayment`, see `STEP_CALLS`); compensations stay regular activities. Sagas started
 * before it keep regular activities for every step, so their histories replay unchanged.
 *
 * Since `patched('carrier-choice')` the saga records at its start which carrier it talks to (`chooseCarrier`, a
 * local activity reading the worker's CARRIER): `in-process` as before, or `broker`, where `createShipment` and
 * `cancelShipment` are commands to the carrier process over RabbitMQ, regular activities completed asynchronously
 * by its reply (activities/participants/carrier-by-command.ts; docs/sagas.md, "The carrier over the broker").
 * Sagas started before it have no choice recorded and use the in-process carrier.
 */
import {
  CancellationScope,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { OrderStep, type OrderSagaInput, type OrderState } from '../common/order';
import { SagaStatus } from '../common/saga-state';
import { CustomerIdKey } from '../common/search-attributes';
import { SagaType } from '../common/domain-events';
import { CARRIER_CHOICE_PATCH, type CarrierChoice } from '../common/carrier';
import { call, Saga } from './saga/compensation-stack';
import {
  carrierCommandCall,
  carrierCompensationCall,
  compensationCall,
  configurationCall,
  localParticipantCall,
  participantCall,
  untilDoneCall,
} from './saga/policies';

const regularParticipant = proxyActivities<Activities>(participantCall);
const localParticipant = proxyLocalActivities<Activities>(localParticipantCall);
const undo = proxyActivities<Activities>(compensationCall);
const notify = proxyActivities<Activities>(untilDoneCall);
const configuration = proxyLocalActivities<Activities>(configurationCall);

/** The carrier a saga started before `patched('carrier-choice')` talks to. */
const inProcessCarrier: CarrierChoice = { carrier: 'in-process' };

/**
 * How each step calls its participant. The rule: `local` for a short, idempotent call that finishes
 * well within `participantCall`'s 10 s and never heartbeats — it then runs inside the workflow task
 * and costs one marker event instead of a schedule/start/complete round trip through the server;
 * re-execution (a lost marker, a worker crash) is covered by the idempotency key. `regular` for a
 * step that may be long (it would hold the workflow task and be retried whole on a crash), that
 * needs heartbeats (local activities cannot heartbeat), or where a saga must be observable and
 * cancellable while the step runs.
 *
 * Why that last point: consecutive local steps run in ONE workflow task, and the workflow sees new
 * events (a cancel request) and answers queries (GET /orders/{id}, its event stream) only between
 * workflow tasks — at the end of the batch, or at the task's heartbeat (80% of its 10 s timeout)
 * when a local step is slow or retrying. So `processPayment` stays regular: it is the call to the
 * payment provider, the one step whose latency is not ours, and the point where a running saga is
 * seen and cancelled mid-way (a cancel during it is honoured at once, as before). A cancel that
 * arrives while the last local steps (shipment, vehicle) run is honoured when they finish: if they
 * succeed, the order completes, as if the cancel had come just after.
 *
 * Compensations are always regular activities: they run rarely, and operators follow them in the
 * history and the Web UI.
 */
const STEP_CALLS: Record<keyof typeof OrderStep, 'local' | 'regular'> = {
  priceOrder: 'local',
  reserveCredit: 'local',
  reserveInventory: 'local',
  processPayment: 'regular',
  createShipment: 'local',
  reserveVehicle: 'local',
};

export async function orderSaga(input: OrderSagaInput): Promise<OrderState> {
  // Evaluated once, first: a saga started before this change keeps regular activities throughout.
  const localCalls = patched('local-participant-calls');
  const participantFor = (step: keyof typeof OrderStep) =>
    localCalls && STEP_CALLS[step] === 'local' ? localParticipant : regularParticipant;
  const { orderId, customerId, items, payment, shippingAddress, deliveryDate } = input;
  const key = (step: string): string => `${workflowInfo().workflowId}:${step}`;
  const order = `Order ${orderId}`;

  if (workflowInfo().typedSearchAttributes.get(CustomerIdKey) === undefined) {
    upsertSearchAttributes([{ key: CustomerIdKey, value: customerId }]);
  }
  const saga = new Saga<OrderState>(
    {
      orderId,
      customerId,
      total: null,
      status: SagaStatus.RUNNING,
      steps: [],
      failure: null,
      compensationFailure: null,
      cancelled: false,
      operatorActions: [],
    },
    { sagaType: SagaType.order, sagaId: orderId, customerId },
  );

  const final = await saga.run(async () => {
    // Fixed once, first, and recorded (the local activity's marker): a replay takes the same path whatever the
    // replaying worker's CARRIER. Inside the run, so that a cancellation right now compensates as any other.
    const carrier = patched(CARRIER_CHOICE_PATCH) ? (await configuration.chooseCarrier()).value : inProcessCarrier;

    const { totalCents } = await saga.step({
      name: OrderStep.priceOrder,
      summary: `${order}: price ${items.length} item line(s)`,
      run: call(participantFor(OrderStep.priceOrder).priceOrder, { items }),
    });
    saga.state.total = totalCents / 100;
    saga.setTotal(saga.state.total);

    const credit = { key: key(OrderStep.reserveCredit), customerId };
    await saga.step({
      name: OrderStep.reserveCredit,
      summary: `${order}: reserve ${saga.state.total} of credit for customer ${customerId}`,
      run: call(participantFor(OrderStep.reserveCredit).reserveCredit, { ...credit, amountCents: totalCents }),
      compensation: {
        name: 'releaseCredit',
        summary: `${order}: release credit of customer ${customerId}`,
        run: call(undo.releaseCredit, credit),
      },
    });

    const inventory = { key: key(OrderStep.reserveInventory), items };
    await saga.step({
      name: OrderStep.reserveInventory,
      summary: `${order}: reserve stock for ${items.length} item line(s)`,
      run: call(participantFor(OrderStep.reserveInventory).reserveInventory, inventory),
      compensation: {
        name: 'releaseInventory',
        summary: `${order}: put reserved stock back`,
        run: call(undo.releaseInventory, inventory),
      },
    });

    const paymentKey = key(OrderStep.processPayment);
    await saga.step({
      name: OrderStep.processPayment,
      summary: `${order}: charge ${saga.state.total}`,
      run: call(participantFor(OrderStep.processPayment).processPayment, {
        key: paymentKey,
        orderId,
        customerId,
        amountCents: totalCents,
        token: payment.token,
      }),
      compensation: {
        name: 'refundPayment',
        summary: `${order}: refund the charge`,
        run: call(undo.refundPayment, { key: paymentKey }),
      },
    });

    const shipmentKey = key(OrderStep.createShipment);
    const shipment = { key: shipmentKey, orderId, address: shippingAddress, deliveryDate };
    if (carrier.carrier === 'broker') {
      // By command to the carrier process, each call completed by its reply (or its timeout).
      const command = proxyActivities<Activities>(carrierCommandCall(carrier));
      const undoCommand = proxyActivities<Activities>(carrierCompensationCall(carrier));
      await saga.step({
        name: OrderStep.createShipment,
        summary: `${order}: ask the carrier to ship to ${shippingAddress.country}`,
        run: call(command.createShipmentByCommand, shipment),
        compensation: {
          name: 'cancelShipment',
          summary: `${order}: ask the carrier to cancel the shipment`,
          run: call(undoCommand.cancelShipmentByCommand, { key: shipmentKey }),
        },
      });
    } else {
      await saga.step({
        name: OrderStep.createShipment,
        summary: `${order}: create shipment to ${shippingAddress.country}`,
        run: call(participantFor(OrderStep.createShipment).createShipment, shipment),
        compensation: {
          name: 'cancelShipment',
          summary: `${order}: cancel the shipment`,
          run: call(undo.cancelShipment, { key: shipmentKey }),
        },
      });
    }

    const vehicle = { key: key(OrderStep.reserveVehicle), deliveryDate };
    await saga.step({
      name: OrderStep.reserveVehicle,
      summary: `${order}: book a vehicle for ${deliveryDate}`,
      run: call(participantFor(OrderStep.reserveVehicle).reserveVehicle, vehicle),
      compensation: {
        name: 'releaseVehicle',
        summary: `${order}: free the vehicle booking`,
        run: call(undo.releaseVehicle, vehicle),
      },
    });
  });

  if (final.status === SagaStatus.COMPLETED && patched('loyalty-signal')) {
    // A completed order must be counted even if the saga is cancelled now.
    await CancellationScope.nonCancellable(() => notify.recordCompletedOrder({ customerId, orderId }));
  }
  return final;
}

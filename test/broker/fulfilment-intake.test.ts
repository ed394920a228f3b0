/**
 * The order-fulfilment saga started by `OrderPlaced` messages, end to end on the real RabbitMQ, Temporal dev server
 * and FerretDB of `npm test`: the intake configured for it (ORDER_INTAKE_SAGA_TYPE=order-fulfilment: the routing key
 * `order-fulfilment.OrderPlaced`, the saga's own input schema) starts it, the harness's worker runs it on the real
 * participants, and its outcome is read through its `getState` query and its domain event stream in MongoDB.
 */
import { randomUUID } from 'node:crypto';
import amqplib, { type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { intakeStarter } from '../../bootstrap/order-intake';
import { connectBroker } from '../../broker/connection';
import {
  createOrderIntakeMetrics,
  deadLetterQueueOf,
  intakeSagas,
  orderPlacedRoutingKey,
  startOrderIntake,
} from '../../broker/order-intake';
import { fulfilmentWorkflowId, type OrderFulfilmentState } from '../../common/order-fulfilment';
import { SagaStatus } from '../../common/saga-state';
import { domainEventCollection } from '../../store/domain-events';
import { waitFor } from '../../scripts/lib/wait';
import { orderBody, seed, type Seeded } from '../support/fixtures';
import { requireEnv, startHarness, waitForSaga, type Harness } from '../support/harness';

const logger = pino({ level: 'silent' });
const queue = `test.fulfilment.placed.${randomUUID().slice(0, 8)}`;
const exchange = `test.intake.${queue}`;
const dlq = deadLetterQueueOf(queue);

let h: Harness;
let a: Seeded;
let b: Seeded;
let c: Seeded;
let publisher: ChannelModel;
let channel: ConfirmChannel;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  h = await startHarness('fulfil-intake');
  a = await seed(h, { creditLimit: 100_000, stock: 100 });
  b = await seed(h, { stock: 1 });
  c = await seed(h, { stock: 1 });
  const broker = await connectBroker({ url: requireEnv('AMQP_URL'), logger, connectionName: 'test-fulfil-intake' });
  const intake = await startOrderIntake({
    broker,
    logger,
    saga: intakeSagas['order-fulfilment'],
    start: intakeStarter({ temporal: h.client, db: h.db, taskQueue: h.taskQueue }, 'order-fulfilment'),
    queue,
    prefetch: 4,
    maxBytes: 100_000,
    metrics: createOrderIntakeMetrics(new Registry()),
    exchange,
  });
  cleanup.push(async () => {
    await intake.stop();
    await broker.close();
  });
  publisher = await amqplib.connect(requireEnv('AMQP_URL'));
  channel = await publisher.createConfirmChannel();
}, 120_000);
afterAll(async () => {
  for (const run of cleanup.reverse()) await run().catch(() => undefined);
  await publisher?.close();
  await h?.stop();
}, 120_000);

async function publish(body: unknown, routingKey = orderPlacedRoutingKey('order-fulfilment')): Promise<string> {
  const messageId = randomUUID();
  channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), {
    persistent: true,
    contentType: 'application/json',
    messageId,
  });
  await channel.waitForConfirms();
  return messageId;
}

async function outcome(orderId: string) {
  const handle = h.client.workflow.getHandle(fulfilmentWorkflowId(orderId));
  // The intake starts it once it consumed the message: a query before that finds no workflow.
  await waitFor(`the intake started ${handle.workflowId}`, () =>
    handle.describe().then(
      () => true,
      () => false,
    ),
  );
  const state = await waitForSaga<OrderFulfilmentState>(handle);
  const events = await domainEventCollection(h.db)
    .find({ streamId: handle.workflowId })
    .sort({ sequence: 1 })
    .toArray();
  return { state, events };
}

describe('an order-fulfilment saga started by an OrderPlaced message', () => {
  test('a valid message starts the saga, which reserves, charges and ships, and reports no cancellation', async () => {
    const body = orderBody(a, { quantity: 3 });
    await publish(body);
    const { state, events } = await outcome(body.orderId);
    expect(state.status).toBe(SagaStatus.COMPLETED);
    expect(state.steps.map((s) => [s.name, s.status])).toEqual([
      ['priceOrder', 'COMPLETED'],
      ['reserveInventory', 'COMPLETED'],
      ['chargePayment', 'COMPLETED'],
      ['createShipment', 'COMPLETED'],
    ]);
    expect(state.cancellation).toBeNull();
    expect((await h.cols.products.findOne({ _id: a.sku }))?.stock).toBe(97);
    expect(events.map((e) => e.type)).not.toContain('OrderCancelled');
  });

  test('when two lines are short, OutOfStock names both skus, the stock taken is put back, and OrderCancelled lists both', async () => {
    const body = {
      ...orderBody(a),
      items: [
        { sku: a.sku, quantity: 2 },
        { sku: b.sku, quantity: 2 },
        { sku: c.sku, quantity: 2 },
      ],
    };
    const stockBefore = (await h.cols.products.findOne({ _id: a.sku }))?.stock;
    await publish(body);
    const { state, events } = await outcome(body.orderId);
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.failure).toMatchObject({ step: 'reserveInventory', type: 'OutOfStock' });
    expect(state.failure?.message).toContain(b.sku);
    expect(state.failure?.message).toContain(c.sku);
    const expected = {
      cancelledBy: 'system',
      refundIssued: false,
      failureStep: 'reserveInventory',
      failureType: 'OutOfStock',
      unavailableSkus: [b.sku, c.sku].sort(),
    };
    expect(state.cancellation).toEqual(expected);
    expect((await h.cols.products.findOne({ _id: a.sku }))?.stock).toBe(stockBefore);
    const cancelled = events.find((e) => e.type === 'OrderCancelled');
    expect(cancelled?.data).toEqual(expected);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['OrderCancelled', 'SagaCompensated']);
  });

  test('a declined payment releases the stock and reports OrderCancelled with refundIssued false', async () => {
    const body = orderBody(a, { token: 'tok_declined' });
    await publish(body);
    const { state } = await outcome(body.orderId);
    expect(state.status).toBe(SagaStatus.COMPENSATED);
    expect(state.cancellation).toMatchObject({
      cancelledBy: 'system',
      refundIssued: false,
      failureStep: 'chargePayment',
      failureType: 'PaymentDeclined',
    });
  });

  test('a message the saga schema refuses goes to the dead-letter queue naming the field, and nothing starts', async () => {
    const { deliveryDate: _omitted, ...body } = orderBody(a);
    const messageId = await publish(body);
    let found: GetMessage | undefined;
    await waitFor(`message ${messageId} in ${dlq}`, async () => {
      const message = await channel.get(dlq, { noAck: true });
      if (message && message.properties.messageId === messageId) found = message;
      return found !== undefined;
    });
    const headers = found!.properties.headers ?? {};
    expect(headers['x-rejection-reason']).toBe('invalid-order');
    expect(String(headers['x-rejection-detail'])).toContain('deliveryDate');
    expect(headers['x-original-routing-key']).toBe('order-fulfilment.OrderPlaced');
    await expect(h.client.workflow.getHandle(fulfilmentWorkflowId(body.orderId)).describe()).rejects.toThrow();
  });
});

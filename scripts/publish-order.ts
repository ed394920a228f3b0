/**
 * `npm run publish-order`: publishes one `OrderPlaced` message by hand, as another service would (docs/api.md,
 * "Starting a saga by a message"), to the exchange `saga.intake` with the routing key `order.OrderPlaced`: persistent,
 * `content-type: application/json`, the order id as message id, confirmed by the broker.
 *
 *   npm run publish-order -- --customer ada --sku widget [--quantity 2] [--order-id ID] [--country IE] [--date 2027-01-15]
 *   npm run publish-order -- --file order.json          # a POST /orders body with its orderId; `-` reads stdin
 *
 * AMQP_URL (default amqp://guest:guest@127.0.0.1:5672, what `npm start` runs). Exit 1 if no queue is bound to the key
 * (the intake never ran: the broker would drop the message) or the broker refuses it; 2 on a usage error.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import { ORDER_INTAKE_EXCHANGE, ORDER_PLACED_ROUTING_KEY } from '../broker/order-intake';
import { redactedAmqpUrl } from '../common/config';

const usage =
  'usage: npm run publish-order -- --customer ID --sku SKU [--quantity N] [--order-id ID] [--country CC] [--date YYYY-MM-DD]\n' +
  '       npm run publish-order -- --file order.json   (a POST /orders body with its orderId; - reads stdin)';

function bodyFromArgs(): Record<string, unknown> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      customer: { type: 'string' },
      sku: { type: 'string' },
      quantity: { type: 'string', default: '1' },
      'order-id': { type: 'string' },
      country: { type: 'string', default: 'IE' },
      date: { type: 'string' },
    },
  });
  if (values.file !== undefined) {
    const text = fs.readFileSync(values.file === '-' ? 0 : values.file, 'utf8');
    return JSON.parse(text) as Record<string, unknown>;
  }
  if (!values.customer || !values.sku) throw new Error('--customer and --sku are required (or --file)');
  const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  return {
    orderId: values['order-id'] ?? randomUUID(),
    customerId: values.customer,
    items: [{ sku: values.sku, quantity: Number(values.quantity) }],
    payment: { token: 'tok_visa' },
    shippingAddress: { line1: '1 Main Street', city: 'Dublin', postalCode: 'D01 F5P2', country: values.country },
    deliveryDate: values.date ?? inAMonth,
  };
}

async function main(): Promise<number> {
  let body: Record<string, unknown>;
  try {
    body = bodyFromArgs();
  } catch (err) {
    console.error(`publish-order: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    let returned = false;
    channel.on('return', () => (returned = true));
    const orderId = typeof body.orderId === 'string' ? body.orderId : undefined;
    channel.publish(ORDER_INTAKE_EXCHANGE, ORDER_PLACED_ROUTING_KEY, Buffer.from(JSON.stringify(body)), {
      persistent: true,
      mandatory: true, // returned if no queue is bound: say so rather than lose it
      contentType: 'application/json',
      messageId: orderId ?? randomUUID(),
      type: 'OrderPlaced',
      appId: 'publish-order',
    });
    await channel.waitForConfirms();
    if (returned) {
      console.error(
        `publish-order: no queue is bound to ${ORDER_INTAKE_EXCHANGE} / ${ORDER_PLACED_ROUTING_KEY} at ` +
          `${redactedAmqpUrl(url)}: is the order intake running (npm start)? Nothing was published.`,
      );
      return 1;
    }
    console.log(
      `published OrderPlaced for order ${orderId ?? '(none: it will be dead-lettered)'} to ${ORDER_INTAKE_EXCHANGE} ` +
        `(key ${ORDER_PLACED_ROUTING_KEY}) at ${redactedAmqpUrl(url)}` +
        (orderId ? `; follow it: GET /orders/${orderId}` : ''),
    );
    return 0;
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

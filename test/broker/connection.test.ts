import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import amqplib from 'amqplib';
import pino from 'pino';
import { ConfigError, loadConfig, redactedAmqpUrl } from '../../common/config';
import { connectBroker, type Broker } from '../../broker/connection';
import { SAGA_EVENTS_EXCHANGE } from '../../broker/topology';
import { freePort, repoRoot, startRabbitMq, type RabbitMq } from '../../scripts/lib/servers';
import { waitFor } from '../../scripts/lib/wait';
import { requireEnv } from '../support/harness';

/**
 * The broker connection (broker/connection.ts) against real RabbitMQ: the one `npm test` started (AMQP_URL), and one
 * of this file's own (scripts/lib/servers.ts startRabbitMq) that it restarts.
 */
const logger = pino({ level: 'silent' });
const id = randomUUID().slice(0, 8);
const dataDir = path.join(repoRoot, '.data', `test-broker-${id}`);
let own: RabbitMq | undefined;
const brokers: Broker[] = [];

afterAll(async () => {
  for (const broker of brokers) await broker.close();
  await own?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('connecting declares the durable topic exchange saga.events', async () => {
  const url = requireEnv('AMQP_URL');
  brokers.push(await connectBroker({ url, logger, connectionName: 'test' }));
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    // Declaring it again with the same arguments passes; with others the broker refuses (406), so it is exactly a
    // durable topic exchange.
    await channel.assertExchange(SAGA_EVENTS_EXCHANGE, 'topic', { durable: true });
    const other = await connection.createChannel();
    other.on('error', () => undefined);
    await expect(other.assertExchange(SAGA_EVENTS_EXCHANGE, 'topic', { durable: false })).rejects.toThrow(
      /PRECONDITION_FAILED/,
    );
  } finally {
    await connection.close();
  }
});

test('after the broker restarts, the connection comes back with the exchange and the setups run again', async () => {
  own = await startRabbitMq({
    port: await freePort(),
    distPort: await freePort(),
    nodeName: `sagas-test-broker-${id}`,
    dataDir,
    logFile: path.join(repoRoot, '.data', 'logs', `test-broker-${id}.log`),
    truncateLog: true,
  });
  let setups = 0;
  const broker = await connectBroker({
    url: own.url,
    logger,
    connectionName: 'test-restart',
    setups: [
      async (channel) => {
        setups += 1;
        await channel.assertQueue('test.restart', { durable: true });
        await channel.bindQueue('test.restart', SAGA_EVENTS_EXCHANGE, 'order.*');
      },
    ],
  });
  brokers.push(broker);
  expect(setups).toBe(1);
  const disconnected = new Promise((resolve) => broker.events.once('disconnected', resolve));

  await own.restart(1_000);
  await disconnected;
  const channel = await broker.channel();
  expect(setups).toBe(2);
  channel.publish(SAGA_EVENTS_EXCHANGE, 'order.Probe', Buffer.from('{}'), { persistent: true, messageId: 'probe' });
  await channel.waitForConfirms();
  await waitFor('the probe is in the queue', async () => (await channel.checkQueue('test.restart')).messageCount === 1);
  expect(broker.isConnected()).toBe(true);
}, 180_000);

test('AMQP_URL is validated once, naming the variable and never echoing the password', () => {
  const bad = 'http://user:s3cret@host:5672';
  let error: unknown;
  try {
    loadConfig({ PAYLOAD_ENCRYPTION: 'off', AMQP_URL: bad });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toMatch(/^Invalid configuration: AMQP_URL: must be an amqp:\/\/ or amqps:\/\/ URL/);
  expect((error as Error).message).not.toContain('s3cret');
  expect(loadConfig({ PAYLOAD_ENCRYPTION: 'off', AMQP_URL: 'amqps://u:p@mq.example:5671/vh' }).AMQP_URL).toBe(
    'amqps://u:p@mq.example:5671/vh',
  );
  expect(redactedAmqpUrl('amqp://sagas:s3cret@rabbitmq:5672')).toBe('amqp://sagas:***@rabbitmq:5672');
});

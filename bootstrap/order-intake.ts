import type { Server } from 'node:http';
import { serveMetrics } from './metrics-server';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Client } from '@temporalio/client';
import type { Db, MongoClient } from 'mongodb';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { AppError } from '../api/errors';
import { requestHash } from '../api/idempotency';
import { orderSagaKind } from '../api/routes/orders';
import { sagaStarter } from '../api/sagas/start';
import { connectBroker, type Broker } from '../broker/connection';
import { sagaClient as makeSagaClient, type SagaInput, type SagaKind } from '../api/sagas/client';
import {
  createOrderIntakeMetrics,
  intakeSagas,
  startOrderIntake,
  StartRefused,
  type IntakeInput,
  type IntakeSagaType,
  type OrderIntake,
  type OrderIntakeOptions,
  type StartOrder,
} from '../broker/order-intake';
import { fulfilmentWorkflowId, ORDER_FULFILMENT } from '../common/order-fulfilment';
import type { SagaState } from '../common/saga-state';
import { sagaDataConverter } from '../codec/data-converter';
import { connectMongo } from '../store/db';
import type { ServiceConfig } from './config';
import type { Logger } from './logging';
import { connectDraining, type DrainingConnection } from './temporal-connection';

/**
 * The memo key of a saga started by a message (api/idempotency.ts `idempotencyMemo`): the hash of its validated
 * body. The same message again (a redelivery, a second publish) has the same key, so its start is recognised;
 * another body for the same order id is not (a conflict), nor a saga that `POST /orders` started.
 */
export const orderPlacedKey = (input: IntakeInput): string => `OrderPlaced:${requestHash(input, 'OrderPlaced')}`;

/**
 * The order-fulfilment saga as the starter sees it; its routes come from its definition on the generic saga API
 * (`/sagas/order-fulfilment/…`), not from here.
 */
export const fulfilmentSagaKind: SagaKind = {
  workflowType: ORDER_FULFILMENT,
  noun: 'Order fulfilment',
  workflowId: fulfilmentWorkflowId,
  location: (id) => `/sagas/order-fulfilment/${id}`,
};

/** The kind of saga each intake saga type starts (ORDER_INTAKE_SAGA_TYPE). */
const intakeKinds: Record<IntakeSagaType, SagaKind> = { order: orderSagaKind, 'order-fulfilment': fulfilmentSagaKind };

export interface OrderStarterDeps {
  temporal: Client;
  db: Db;
  taskQueue: string;
  /** Longest one Temporal call may take (as the API's: 5 s); past it the start counts as failed and is retried. */
  temporalCallMs?: number;
}

/**
 * The intake's start: what `POST /orders` runs (api/sagas/start.ts `sagaStarter` over the order saga's client: the
 * customer check, one saga per order id for good, the same search attributes, summary and memo), its 422 and 409
 * turned into the intake's refusals. Every other failure (Temporal or MongoDB unreachable) is thrown as it is.
 */
export function orderStarter(deps: OrderStarterDeps): StartOrder {
  return intakeStarter(deps, 'order');
}

/** The same start for any saga an intake can start (`intakeSagas`), by its saga type. */
export function intakeStarter(
  { temporal, db, taskQueue, temporalCallMs = 5_000 }: OrderStarterDeps,
  sagaType: IntakeSagaType,
): (input: IntakeInput) => Promise<'started' | 'duplicate'> {
  const sagas = makeSagaClient<SagaInput, SagaState>(
    { temporal, taskQueue, temporalCallMs, eagerStart: false },
    intakeKinds[sagaType],
  );
  const starter = sagaStarter(sagas, { db });
  return async (input) => {
    try {
      const { alreadyStarted } = await starter.start(input, orderPlacedKey(input));
      return alreadyStarted ? 'duplicate' : 'started';
    } catch (err) {
      if (err instanceof AppError && err.status === 422) throw new StartRefused('unknown-customer', err.detail);
      if (err instanceof AppError && err.status === 409) {
        throw new StartRefused(
          'order-id-conflict',
          `${err.detail} by a request or by a message with another body; an order id names one saga for good`,
        );
      }
      throw err;
    }
  };
}

export interface RunningOrderIntake {
  intake: OrderIntake;
  broker: Broker;
  registry: Registry;
  /** Where `/metrics` is served (ORDER_INTAKE_METRICS_ADDRESS), with its port if 0 was asked. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

/**
 * The order intake's process, wired: MongoDB, a Temporal client (the data converter, so inputs and memos are
 * encrypted like the API's), a broker connection of its own (`order-intake` in RabbitMQ's connection list), the
 * consumer, and its metrics. `stop()` stops consuming, settles the messages in hand, then closes everything.
 */
export async function runOrderIntake(
  config: ServiceConfig,
  logger: Logger,
  extra: Pick<OrderIntakeOptions, 'beforeAck' | 'requeueBackoff' | 'exchange'> = {},
): Promise<RunningOrderIntake> {
  let mongo: MongoClient | undefined;
  let temporal: DrainingConnection | undefined;
  let broker: Broker | undefined;
  let metricsServer: Server | undefined;
  try {
    const connected = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
    mongo = connected.client;
    temporal = await connectDraining({ address: config.TEMPORAL_ADDRESS });
    const client = new Client({
      connection: temporal.connection,
      namespace: config.TEMPORAL_NAMESPACE,
      // Who started a saga, in its history and the Web UI.
      identity: `${process.pid}@${os.hostname()}/order-intake`,
      dataConverter: sagaDataConverter(config.payloadKeyRing),
    });
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const metrics = createOrderIntakeMetrics(registry);
    broker = await connectBroker({ url: config.AMQP_URL, logger, connectionName: 'order-intake' });
    const intake = await startOrderIntake({
      ...extra,
      broker,
      logger,
      start: intakeStarter(
        { temporal: client, db: connected.db, taskQueue: config.TASK_QUEUE },
        config.ORDER_INTAKE_SAGA_TYPE,
      ),
      saga: intakeSagas[config.ORDER_INTAKE_SAGA_TYPE],
      queue: config.ORDER_INTAKE_QUEUE,
      prefetch: config.ORDER_INTAKE_PREFETCH,
      maxBytes: config.BODY_LIMIT,
      metrics,
    });
    let metricsAddress: string | undefined;
    if (config.ORDER_INTAKE_METRICS_ADDRESS) {
      metricsServer = await serveMetrics(registry, config.ORDER_INTAKE_METRICS_ADDRESS);
      const { address, port } = metricsServer.address() as AddressInfo;
      metricsAddress = `${address.includes(':') ? `[${address}]` : address}:${port}`;
      logger.info(`Order intake metrics on http://${metricsAddress}/metrics`);
    }
    const clients = { mongo, temporal, broker, metricsServer };
    return {
      intake,
      broker,
      registry,
      ...(metricsAddress ? { metricsAddress } : {}),
      async stop() {
        await intake.stop();
        await clients.broker.close();
        await clients.temporal.close();
        await clients.mongo.close();
        if (clients.metricsServer) {
          const server = clients.metricsServer;
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      },
    };
  } catch (err) {
    metricsServer?.close();
    await broker?.close().catch(() => undefined);
    await temporal?.close();
    await mongo?.close();
    throw err;
  }
}

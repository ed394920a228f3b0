/**
 * How the failure matrix makes a saga of each type (run.ts `Fixture`): its own customer and product (an order),
 * its own parcels (a transport order), seeded through the API; the vehicles every saga of the type shares, once.
 */
import { randomUUID } from 'node:crypto';
import { orderWorkflowId } from '../../../common/order';
import { fulfilmentWorkflowId, ORDER_FULFILMENT, type OrderFulfilmentInput } from '../../../common/order-fulfilment';
import { TRANSPORT_ORDER, transportWorkflowId, type TransportOrderInput } from '../../../common/transport';
import { SagaStatus } from '../../../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../../../common/search-attributes';
import { http, type Harness } from '../../../test/support/harness';
import { sagaDefinitions } from '../../../workflows/definitions';
import type { SagaType } from '../../../common/domain-events';
import type { Fixture } from './run';

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function post(h: Harness, path: string, body: unknown): Promise<{ id?: string }> {
  const res = await http(h.baseUrl, 'POST', path, body);
  if (res.status !== 201) throw new Error(`seeding ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as { id?: string };
}

const order: Fixture = {
  sagaType: 'order',
  definition: sagaDefinitions.order,
  members: 0,
  async prepare(h) {
    await post(h, '/vehicles', { id: unique('matrix-van'), name: 'Van', capacityPerDay: 1000 });
  },
  async seed(h) {
    const customerId = unique('matrix-cust');
    const sku = unique('matrix-sku');
    await post(h, '/customers', { id: customerId, name: 'Matrix customer', creditLimit: 1000 });
    await post(h, '/products', { sku, name: 'Matrix product', price: 10, stock: 100 });
    const orderId = unique('matrix-ord');
    return {
      orderId,
      workflowId: orderWorkflowId(orderId),
      body: {
        orderId,
        customerId,
        items: [{ sku, quantity: 2 }],
        payment: { token: 'tok_visa' },
        shippingAddress: { line1: '1 Main Street', city: 'Dublin', postalCode: 'D01 F5P2', country: 'IE' },
        deliveryDate: '2030-01-15',
      },
    };
  },
  async start(h, { body }) {
    const res = await http(h.baseUrl, 'POST', '/orders', body);
    return res.status === 202 ? undefined : `POST /orders answered ${res.status}: ${JSON.stringify(res.body)}`;
  },
  apiPath: (orderId) => `/orders/${orderId}`,
  liveRecords: { payments: { status: 'CHARGED' }, shipments: { status: 'CREATED' } },
};

const PARCELS = 2;
let transportCustomer = '';

const transport: Fixture = {
  sagaType: 'transport-order',
  definition: sagaDefinitions['transport-order'],
  members: PARCELS,
  async prepare(h) {
    transportCustomer = unique('matrix-cust');
    await post(h, '/customers', { id: transportCustomer, name: 'Matrix customer', creditLimit: 1000 });
    await post(h, '/transport-vehicles', {
      id: unique('matrix-truck'),
      name: 'Truck',
      capacityKg: 1000,
      pricePerService: 150,
    });
  },
  async seed(h, { decisionTimeoutMs }) {
    const parcelIds: string[] = [];
    for (let i = 0; i < PARCELS; i++) parcelIds.push((await post(h, '/parcels', { weightKg: 5 + i })).id!);
    const orderId = unique('matrix-tr');
    return {
      orderId,
      workflowId: transportWorkflowId(orderId),
      body: { orderId, customerId: transportCustomer, parcelIds, decisionTimeoutMs },
      item: parcelIds[0]!,
    };
  },
  // Started as the API starts it, with the input's deadline, which the API does not take from a client.
  async start(h, { workflowId, body }) {
    await h.client.workflow.start(TRANSPORT_ORDER, {
      taskQueue: h.taskQueue,
      workflowId,
      args: [body as TransportOrderInput],
      typedSearchAttributes: [
        { key: SagaStatusKey, value: SagaStatus.RUNNING },
        { key: CustomerIdKey, value: transportCustomer },
      ],
    });
    return undefined;
  },
  apiPath: (orderId) => `/transport-orders/${orderId}`,
  liveRecords: { transportOrders: { status: 'CREATED' } },
};

/** The order-fulfilment saga: an order's participants, started as the order intake starts it (its own input). */
const fulfilment: Fixture = {
  sagaType: 'order-fulfilment',
  definition: sagaDefinitions['order-fulfilment'],
  members: 0,
  prepare: (h) => order.prepare(h),
  async seed(h) {
    const seeded = await order.seed(h, { decisionTimeoutMs: 0 });
    return { ...seeded, workflowId: fulfilmentWorkflowId(seeded.orderId) };
  },
  async start(h, { workflowId, body }) {
    const input = body as OrderFulfilmentInput;
    await h.client.workflow.start(ORDER_FULFILMENT, {
      taskQueue: h.taskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: [
        { key: SagaStatusKey, value: SagaStatus.RUNNING },
        { key: CustomerIdKey, value: input.customerId },
      ],
    });
    return undefined;
  },
  apiPath: (orderId) => `/sagas/order-fulfilment/${orderId}`,
  liveRecords: order.liveRecords,
};

/** The fixture of every saga type of `sagaDefinitions`. */
export const fixtures: Record<SagaType, Fixture> = {
  order,
  'transport-order': transport,
  'order-fulfilment': fulfilment,
};

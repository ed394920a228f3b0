import { z } from 'zod';
import { LoyaltyState as Loyalty } from '../common/shapes/loyalty';
import { OrderState as OrderStateResponse } from '../common/shapes/order';
import { Customer, Parcel, Product, TransportVehicle, Vehicle } from '../common/shapes/participants';
import { TransportOrderState as TransportOrderStateResponse } from '../common/shapes/transport';
import {
  CancelAccepted,
  CreateCustomer,
  CreateOrder,
  CreateProduct,
  CreateVehicle,
  Health,
  IdempotencyKey,
  IdParam,
  ListOrdersQuery,
  OrderIdParam,
  OrderList,
  OrderStarted,
  Problem,
  Ready,
  RetryCompensationAccepted,
  SkuParam,
} from './schemas';
import {
  ApproveBody,
  CreateParcel,
  CreateTransportOrder,
  CreateTransportVehicle,
  ParcelIdParam,
  RejectBody,
  TransportDecisionAccepted,
  TransportOrderIdParam,
  TransportOrderStarted,
  TransportVehicleIdParam,
} from './schemas-transport';

/**
 * The API's operations, described with the same zod schemas that validate requests: the OpenAPI document
 * is generated from this list, the 405 handler reads it, and the contract tests check every response here.
 */
export interface Operation {
  method: 'get' | 'post';
  /** Express-style path, `/orders/:orderId`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  idempotencyKey?: boolean;
  body?: z.ZodType;
  /** The body may be left out (`approve`, `reject`). */
  bodyOptional?: boolean;
  responses: Record<number, ResponseSpec>;
}

export interface ResponseSpec {
  description: string;
  /** JSON body schema; problem responses (4xx/5xx) use the Problem schema. */
  schema?: z.ZodType;
  /** Defaults: application/json for 2xx, application/problem+json for errors. */
  contentType?: string;
  headers?: Record<string, string>;
}

const problems = {
  400: { description: 'Malformed JSON or invalid fields; `errors` names each offending field' },
  404: { description: 'No such resource' },
  409: { description: 'Conflicts with the current state' },
  413: { description: 'The body is over the limit (BODY_LIMIT)' },
  415: { description: 'The body is not application/json' },
  422: { description: 'The Idempotency-Key was used with a different body' },
  503: { description: 'Temporal or MongoDB cannot be reached; retry after `Retry-After` seconds' },
} satisfies Record<number, ResponseSpec>;
const pick = <K extends keyof typeof problems>(...statuses: K[]) =>
  Object.fromEntries(statuses.map((s) => [s, problems[s]])) as Record<K, ResponseSpec>;

const created = (schema: z.ZodType, what: string): ResponseSpec => ({
  description: `The ${what} was created`,
  schema,
  headers: { Location: `URL of the new ${what}` },
});

export const operations: Operation[] = [
  {
    method: 'post',
    path: '/customers',
    operationId: 'createCustomer',
    summary: 'Create a customer with a credit limit',
    tag: 'participants',
    body: CreateCustomer,
    responses: { 201: created(Customer, 'customer'), ...pick(400, 409, 413, 415, 503) },
  },
  {
    method: 'get',
    path: '/customers/:id',
    operationId: 'getCustomer',
    summary: 'Read a customer and its available credit',
    tag: 'participants',
    params: IdParam,
    responses: { 200: { description: 'The customer', schema: Customer }, ...pick(400, 404, 503) },
  },
  {
    method: 'post',
    path: '/products',
    operationId: 'createProduct',
    summary: 'Create a product with a price and stock',
    tag: 'participants',
    body: CreateProduct,
    responses: { 201: created(Product, 'product'), ...pick(400, 409, 413, 415, 503) },
  },
  {
    method: 'get',
    path: '/products/:sku',
    operationId: 'getProduct',
    summary: 'Read a product and its stock',
    tag: 'participants',
    params: SkuParam,
    responses: { 200: { description: 'The product', schema: Product }, ...pick(400, 404, 503) },
  },
  {
    method: 'post',
    path: '/vehicles',
    operationId: 'createVehicle',
    summary: 'Create a delivery vehicle with a daily capacity',
    tag: 'participants',
    body: CreateVehicle,
    responses: { 201: created(Vehicle, 'vehicle'), ...pick(400, 409, 413, 415, 503) },
  },
  {
    method: 'get',
    path: '/vehicles/:id',
    operationId: 'getVehicle',
    summary: 'Read a vehicle',
    tag: 'participants',
    params: IdParam,
    responses: { 200: { description: 'The vehicle', schema: Vehicle }, ...pick(400, 404, 503) },
  },
  {
    method: 'post',
    path: '/orders',
    operationId: 'startOrder',
    summary: 'Start an order saga',
    description:
      'Starts the saga and answers at once; follow it with `GET /orders/{orderId}` or its event stream. ' +
      'Without `orderId` one is generated. With an `Idempotency-Key`, a retry with the same body answers ' +
      'the first answer again (header `Idempotent-Replayed: true`) without starting anything.',
    tag: 'orders',
    idempotencyKey: true,
    body: CreateOrder,
    responses: {
      202: {
        description: 'The saga has started',
        schema: OrderStarted,
        headers: { Location: 'URL of the order', 'Idempotent-Replayed': 'true when this answers a retry' },
      },
      ...pick(400, 409, 413, 415, 422, 503),
    },
  },
  {
    method: 'get',
    path: '/orders',
    operationId: 'listOrders',
    summary: 'List order sagas, newest first',
    description:
      'Reads Temporal visibility (eventually consistent: a saga appears and changes status there a moment after ' +
      'it does in `GET /orders/{orderId}`). Order: running sagas first, newest started first, then finished ' +
      'sagas, most recently finished first.',
    tag: 'orders',
    query: ListOrdersQuery,
    responses: { 200: { description: 'One page of sagas', schema: OrderList }, ...pick(400, 503) },
  },
  {
    method: 'get',
    path: '/orders/:orderId',
    operationId: 'getOrder',
    summary: "Read an order saga's state",
    tag: 'orders',
    params: OrderIdParam,
    responses: { 200: { description: 'The saga state', schema: OrderStateResponse }, ...pick(400, 404, 503) },
  },
  {
    method: 'post',
    path: '/orders/:orderId/cancel',
    operationId: 'cancelOrder',
    summary: 'Cancel a running order saga',
    description:
      'Requests cancellation: the saga undoes its completed steps in reverse order and its state then says ' +
      '`cancelled: true`, status COMPENSATED. A saga that is not RUNNING (finished, or already compensating) ' +
      'answers 409 and nothing changes.',
    tag: 'orders',
    params: OrderIdParam,
    responses: {
      202: { description: 'Cancellation requested', schema: CancelAccepted, headers: { Location: 'URL of the order' } },
      ...pick(400, 404, 409, 503),
    },
  },
  {
    method: 'post',
    path: '/orders/:orderId/retry-compensation',
    operationId: 'retryCompensation',
    summary: "Retry a FAILED order saga's compensation",
    description:
      'For an operator, once the cause of a failed compensation is fixed: sends the saga its `retryCompensation` ' +
      'signal and it retries from the compensation that failed (state `compensationFailure` names it), going on ' +
      'to COMPENSATED, or back to FAILED if it fails again. A saga that is not FAILED answers 409 and nothing ' +
      'changes. Same as `temporal workflow signal --workflow-id order-<orderId> --name retryCompensation`.',
    tag: 'orders',
    params: OrderIdParam,
    responses: {
      202: {
        description: 'Retry requested',
        schema: RetryCompensationAccepted,
        headers: { Location: 'URL of the order' },
      },
      ...pick(400, 404, 409, 503),
    },
  },
  {
    method: 'get',
    path: '/orders/:orderId/events',
    operationId: 'orderEvents',
    summary: "Follow an order saga's state as Server-Sent Events",
    description:
      'Event `state` (data: the saga state, as `GET /orders/{orderId}`): the current state first, then one ' +
      'event per change (a step started, completed, failed, compensated). Event `end` (data: `{"status"}`) ' +
      'once the saga is COMPLETED or COMPENSATED, then the stream closes. A FAILED saga waits for an operator: ' +
      'the stream stays open with `: keep-alive` comments. Event `error` (data: `{"status":503}`) if Temporal ' +
      'cannot be reached mid-stream, then the stream closes. The stream also closes when the API shuts down; ' +
      'reconnect (the `retry` field says after how many ms).',
    tag: 'orders',
    params: OrderIdParam,
    responses: {
      200: { description: 'The event stream', contentType: 'text/event-stream', schema: z.string() },
      ...pick(400, 404, 503),
    },
  },
  {
    method: 'post',
    path: '/parcels',
    operationId: 'createParcel',
    summary: 'Create a parcel with its weight',
    tag: 'transport-orders',
    body: CreateParcel,
    responses: { 201: created(Parcel, 'parcel'), ...pick(400, 409, 413, 415, 503) },
  },
  {
    method: 'get',
    path: '/parcels/:id',
    operationId: 'getParcel',
    summary: 'Read a parcel and the transport order it is on',
    tag: 'transport-orders',
    params: ParcelIdParam,
    responses: { 200: { description: 'The parcel', schema: Parcel }, ...pick(400, 404, 503) },
  },
  {
    method: 'post',
    path: '/transport-vehicles',
    operationId: 'createTransportVehicle',
    summary: 'Create a transport vehicle with a capacity and a price per service',
    tag: 'transport-orders',
    body: CreateTransportVehicle,
    responses: { 201: created(TransportVehicle, 'transport vehicle'), ...pick(400, 409, 413, 415, 503) },
  },
  {
    method: 'get',
    path: '/transport-vehicles/:id',
    operationId: 'getTransportVehicle',
    summary: 'Read a transport vehicle and its reservations',
    tag: 'transport-orders',
    params: TransportVehicleIdParam,
    responses: { 200: { description: 'The transport vehicle', schema: TransportVehicle }, ...pick(400, 404, 503) },
  },
  {
    method: 'post',
    path: '/transport-orders',
    operationId: 'startTransportOrder',
    summary: 'Start a transport order saga',
    description:
      'Starts the saga (workflow id `transport-<orderId>`) and answers at once; follow it with ' +
      '`GET /transport-orders/{orderId}`. Without `orderId` one is generated. The parcels are added in parallel, ' +
      'the cheapest vehicle that holds them is reserved and assigned, then the saga waits for `approve` or ' +
      '`reject` until `decisionTimeoutSeconds` (default 24 h) and compensates unless approved. An unknown ' +
      'parcel makes the saga compensate (failure `UnknownParcel`); an order id already used answers 409. ' +
      'With an `Idempotency-Key`, a retry with the same body answers the first answer again (header ' +
      '`Idempotent-Replayed: true`) without starting anything.',
    tag: 'transport-orders',
    idempotencyKey: true,
    body: CreateTransportOrder,
    responses: {
      202: {
        description: 'The saga has started',
        schema: TransportOrderStarted,
        headers: { Location: 'URL of the transport order', 'Idempotent-Replayed': 'true when this answers a retry' },
      },
      ...pick(400, 409, 413, 415, 503),
      422: { description: '`customerId` names no customer, or the Idempotency-Key was used with a different body' },
    },
  },
  {
    method: 'get',
    path: '/transport-orders/:orderId',
    operationId: 'getTransportOrder',
    summary: "Read a transport order saga's state",
    tag: 'transport-orders',
    params: TransportOrderIdParam,
    responses: {
      200: { description: 'The saga state', schema: TransportOrderStateResponse },
      ...pick(400, 404, 503),
    },
  },
  {
    method: 'post',
    path: '/transport-orders/:orderId/approve',
    operationId: 'approveTransportOrder',
    summary: 'Approve a transport order waiting for a decision',
    description:
      "Takes the decision with the saga's `decide` update while it waits for one (state `pendingDecision`); it " +
      'then completes. The saga itself accepts or refuses the decision, so of an approve and a reject sent at ' +
      'the same time exactly one answers 202. Approving again answers 202 again (a retried request is ' +
      'harmless). An order that was rejected or timed out, is not waiting yet, or has finished answers 409. ' +
      'The body may be left out or `{}`.',
    tag: 'transport-orders',
    params: TransportOrderIdParam,
    body: ApproveBody,
    bodyOptional: true,
    responses: {
      202: {
        description: 'Approval taken (or already taken)',
        schema: TransportDecisionAccepted,
        headers: { Location: 'URL of the transport order' },
      },
      ...pick(400, 404, 409, 413, 415, 503),
    },
  },
  {
    method: 'post',
    path: '/transport-orders/:orderId/reject',
    operationId: 'rejectTransportOrder',
    summary: 'Reject a transport order waiting for a decision',
    description:
      "Takes the decision with the saga's `decide` update (with the optional `reason`) while it waits for one; " +
      'it then undoes its steps in reverse order and ends COMPENSATED with failure `Rejected`. Of an approve ' +
      'and a reject sent at the same time exactly one answers 202. Rejecting again answers 202 again; an order ' +
      'that was approved or timed out, is not waiting yet, or has finished answers 409.',
    tag: 'transport-orders',
    params: TransportOrderIdParam,
    body: RejectBody,
    bodyOptional: true,
    responses: {
      202: {
        description: 'Rejection taken (or already taken)',
        schema: TransportDecisionAccepted,
        headers: { Location: 'URL of the transport order' },
      },
      ...pick(400, 404, 409, 413, 415, 503),
    },
  },
  {
    method: 'get',
    path: '/customers/:id/loyalty',
    operationId: 'getCustomerLoyalty',
    summary: "Read a customer's completed orders and loyalty discounts",
    description:
      "Answers the customer's loyalty saga (`loyalty-<customerId>`, followed across continue-as-new). Every " +
      '10th completed order grants a 10 % discount. A customer with no completed order yet has zero counts. ' +
      'The count is updated a moment after an order saga completes.',
    tag: 'loyalty',
    params: IdParam,
    responses: { 200: { description: 'The loyalty state', schema: Loyalty }, ...pick(400, 404, 503) },
  },
  {
    method: 'get',
    path: '/health',
    operationId: 'health',
    summary: 'Liveness: the process is alive',
    tag: 'operations',
    responses: { 200: { description: 'Alive', schema: Health } },
  },
  {
    method: 'get',
    path: '/ready',
    operationId: 'ready',
    summary: 'Readiness: Temporal and MongoDB answer and the API is not shutting down',
    tag: 'operations',
    responses: {
      200: { description: 'Ready', schema: Ready },
      503: { description: 'Not ready; `checks` says which dependency is down' },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tag: 'operations',
    responses: { 200: { description: 'OpenAPI 3.1 document', schema: z.record(z.string(), z.unknown()) } },
  },
];

/** `/orders/:orderId` → `/orders/{orderId}` */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
  });
  return rest;
}

function parameters(op: Operation): Record<string, unknown>[] {
  const list: Record<string, unknown>[] = [];
  for (const [where, obj] of [
    ['path', op.params],
    ['query', op.query],
  ] as const) {
    if (!obj) continue;
    for (const [name, schema] of Object.entries<z.ZodType>(obj.shape)) {
      list.push({
        name,
        in: where,
        required: where === 'path' || !schema.safeParse(undefined).success,
        schema: jsonSchema(schema, 'input'),
      });
    }
  }
  if (op.idempotencyKey) {
    list.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Makes retries safe: the same key and body answer the first answer again. A key is remembered for ' +
        'IDEMPOTENCY_KEY_RETENTION_HOURS (default 24 hours); after that it counts as new.',
      schema: jsonSchema(IdempotencyKey, 'input'),
    });
  }
  return list;
}

function response(status: number, spec: ResponseSpec): Record<string, unknown> {
  const isProblem = status >= 400;
  const contentType = spec.contentType ?? (isProblem ? 'application/problem+json' : 'application/json');
  const schema = isProblem
    ? { $ref: '#/components/schemas/Problem' }
    : spec.schema && jsonSchema(spec.schema, 'output');
  const headers: Record<string, unknown> = {};
  for (const [name, description] of Object.entries(spec.headers ?? {})) {
    headers[name] = { description, schema: { type: 'string' } };
  }
  if (status === 503)
    headers['Retry-After'] = { description: 'Seconds to wait before retrying', schema: { type: 'string' } };
  return {
    description: spec.description,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: { [contentType]: schema ? { schema } : {} },
  };
}

/** The OpenAPI 3.1 document, generated from `operations`. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const entry = (paths[openApiPath(op.path)] ??= {});
    const params = parameters(op);
    entry[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: !op.bodyOptional,
              content: { 'application/json': { schema: jsonSchema(op.body, 'input') } },
            },
          }
        : {}),
      responses: Object.fromEntries(Object.entries(op.responses).map(([s, spec]) => [s, response(Number(s), spec)])),
    };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Durable sagas API',
      version: '0.1.0',
      description:
        'Order sagas on Temporal with participants in MongoDB. Every error is application/problem+json (RFC 9457).',
    },
    tags: [
      { name: 'orders', description: 'Order sagas' },
      { name: 'participants', description: 'Participant data: customers, products, vehicles' },
      {
        name: 'transport-orders',
        description: 'Transport order sagas (docs/sagas.md), with their parcels and transport vehicles',
      },
      { name: 'loyalty', description: "A customer's loyalty saga: completed orders and discounts" },
      { name: 'operations', description: 'Health, readiness, this document' },
    ],
    paths,
    components: { schemas: { Problem: jsonSchema(Problem, 'output') } },
  };
}

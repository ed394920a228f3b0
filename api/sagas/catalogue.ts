/**
 * The saga catalogue: every saga definition (`workflows/definitions/`, plain TypeScript that the workflow bundle
 * carries) joined, by saga type, to the zod schema of its input (`common/shapes/`, which the bundle must not carry).
 * The join is checked at build: a definition's input type must be exactly `z.infer` of its schema, so the workflow
 * and its validated input cannot drift apart. The tooling reads it (`npm run saga -- describe`); the generic saga API
 * (`GET /sagas`, `POST /sagas/{type}` validated by `input`, the OpenAPI document with each type's
 * schema) is generated from it, with `sagaApis` below.
 */
import type { z } from 'zod';
import type { SagaType } from '../../common/domain-events';
import { orderWorkflowId } from '../../common/order';
import { OrderSagaInput, OrderState } from '../../common/shapes/order';
import { TransportOrderInput, TransportOrderState } from '../../common/shapes/transport';
import { transportWorkflowId } from '../../common/transport';
import { OrderFulfilmentInput, OrderFulfilmentState } from '../../common/shapes/order-fulfilment';
import { fulfilmentWorkflowId } from '../../common/order-fulfilment';
import { CreateOrder } from '../schemas';
import { CreateTransportOrder } from '../schemas-transport';
import type { SagaInput } from './client';
import { sagaConfigSchema, type SagaConfig, type SagaConfigShape } from '../../common/shapes/saga-config';
import { sagaDefinitions } from '../../workflows/definitions';
import type { InputOf, SagaDefinition } from '../../workflows/saga/definition';
import { callPresets } from '../../workflows/saga/policies';

/** True when `A` and `B` are the same type. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export interface CatalogueEntry<D extends SagaDefinition<never> = SagaDefinition<never>> {
  definition: D;
  input: z.ZodType;
  /** Its stored configuration's schema (`PUT /saga-config/<type>`, `npm run saga-config`), built from the definition. */
  config: z.ZodType<SagaConfig>;
}

/**
 * What a definition's configuration may set: its steps, parallel groups and waits by name, and the presets its
 * steps and compensations name (not the call after completion's: retried until done by design).
 */
export function configShape(definition: SagaDefinition<never>): SagaConfigShape {
  const presets = new Set<string>();
  const nodes = definition.nodes.map((node) => {
    if (node.type === 'wait') return { name: node.name, type: 'wait' as const };
    presets.add(node.call.preset);
    if (node.compensation) presets.add(node.compensation.preset);
    return { name: node.name, type: node.type, preset: node.call.preset };
  });
  const localPresets = Object.entries(callPresets)
    .filter(([, variants]) => 'local' in variants)
    .map(([name]) => name);
  return { nodes, presets: [...presets], localPresets };
}

/** A definition and its input schema; refused at build unless `z.infer` of the schema is the definition's input. */
export function entry<D extends SagaDefinition<never>, Z extends z.ZodType>(
  definition: D,
  input: Z & (Same<z.infer<Z>, InputOf<D>> extends true ? unknown : { refused: "the schema's type is not the input" }),
): CatalogueEntry<D> {
  return { definition, input, config: sagaConfigSchema(configShape(definition)) };
}

export const sagaCatalogue = {
  order: entry(sagaDefinitions.order, OrderSagaInput),
  'transport-order': entry(sagaDefinitions['transport-order'], TransportOrderInput),
  'order-fulfilment': entry(sagaDefinitions['order-fulfilment'], OrderFulfilmentInput),
} as const satisfies Record<SagaType, CatalogueEntry>;

export const sagaTypes = Object.keys(sagaCatalogue) as SagaType[];

export function isSagaType(name: string): name is SagaType {
  return Object.hasOwn(sagaCatalogue, name);
}

/**
 * What the API needs of each saga type beside its definition: how answers name one, its workflow id, the path of
 * its own routes (`/orders`, kept beside `/sagas/order`), the schema of its state, and how a start request (the
 * body of `POST /sagas/{type}`, which is that of its own `POST /orders`) becomes the saga's input. Both paths of a
 * type share one handler per operation (api/routes/sagas.ts), so they are the same operations.
 */
export interface SagaApi<B extends StartBody = StartBody, I extends SagaInput = SagaInput> {
  noun: string;
  workflowId: (orderId: string) => string;
  /** The type's own path (`/orders`); the `Location` of its sagas' answers is under it, on both paths. */
  ownPath: string;
  /** The OpenAPI tag of its own operations and of its `/sagas/{type}` ones. */
  tag: string;
  state: z.ZodType;
  startBody: z.ZodType<B>;
  input: (body: B, orderId: string) => I;
  /** Scopes an Idempotency-Key's body hash (api/idempotency.ts); none for `POST /orders`, as before. */
  idempotencyScope?: string;
}

export interface StartBody {
  orderId?: string | undefined;
  customerId: string;
}

const api = <B extends StartBody, I extends SagaInput>(a: SagaApi<B, I>): SagaApi<B, I> => a;

export const sagaApis = {
  order: api({
    noun: 'Order',
    workflowId: orderWorkflowId,
    ownPath: '/orders',
    tag: 'orders',
    state: OrderState,
    startBody: CreateOrder,
    input: (body, orderId): OrderSagaInput => ({ ...body, orderId }),
  }),
  'transport-order': api({
    noun: 'Transport order',
    workflowId: transportWorkflowId,
    ownPath: '/transport-orders',
    tag: 'transport-orders',
    state: TransportOrderState,
    startBody: CreateTransportOrder,
    input: ({ customerId, parcelIds, decisionTimeoutSeconds, priority }, orderId): TransportOrderInput => ({
      orderId,
      customerId,
      parcelIds,
      ...(decisionTimeoutSeconds !== undefined ? { decisionTimeoutMs: decisionTimeoutSeconds * 1000 } : {}),
      ...(priority !== undefined ? { priority } : {}),
    }),
    idempotencyScope: 'startTransportOrder',
  }),
  // No path of its own: its operations are those under /sagas/order-fulfilment.
  'order-fulfilment': api({
    noun: 'Order fulfilment',
    workflowId: fulfilmentWorkflowId,
    ownPath: '/sagas/order-fulfilment',
    tag: 'sagas',
    state: OrderFulfilmentState,
    startBody: OrderFulfilmentInput.extend({ orderId: OrderFulfilmentInput.shape.orderId.optional() }),
    input: (body, orderId): OrderFulfilmentInput => ({ ...body, orderId }),
    idempotencyScope: 'startOrderFulfilment',
  }),
} satisfies Record<SagaType, unknown>;

/** A type's `SagaApi` as the generic routes use it: the start body is the one its schema validated. */
export const sagaApiOf = (type: SagaType): SagaApi => sagaApis[type] as unknown as SagaApi;

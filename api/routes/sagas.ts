import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { SagaType } from '../../common/domain-events';
import type { SagaState } from '../../common/saga-state';
import { describeDefinition } from '../../workflows/definitions/describe';
import { perSagaOperationNames, sagaOperationId, type Handlers, type PerSagaHandlers } from '../operations';
import { logSagaOfRequest } from '../request-log';
import { sagaApiOf, sagaCatalogue, sagaTypes } from '../sagas/catalogue';
import { sagaClient, type SagaClient, type SagaInput } from '../sagas/client';
import { type FollowHub } from '../sagas/follow-hub';
import { sagaHandlers, stateOrView } from '../sagas/handlers';
import { compensationPlan } from '../sagas/plan';
import { sagaRecord } from '../sagas/record';
import { sagaStarts } from '../sagas/start';
import { streamStates } from '../sagas/state-stream';

export interface SagaRoutesDeps {
  temporal: Client;
  db: Db;
  taskQueue: string;
  /** How often an event stream asks its saga for its state. */
  eventsPollMs: number;
  /** Longest one Temporal call may take before the request answers 503. */
  temporalCallMs: number;
  /** Start sagas eagerly (AppDeps.eagerStart). */
  eagerStart: boolean;
  /** How long an Idempotency-Key is remembered. */
  idempotencyRetentionMs: number;
  /** Aborted when the API shuts down: open event streams end. */
  shutdown: AbortSignal;
}

/** One saga type as the routes see it: its client (for the operations of its own, approve and reject) and handlers. */
export interface SagaTypeRoutes<I extends SagaInput, S extends SagaState> {
  client: SagaClient<I, S>;
  /** What answers its `/sagas/{type}/…` operations, and the same operations on its own path (`/orders/…`). */
  handlers: PerSagaHandlers;
}

/**
 * The handlers of one saga type's operations, the same for every type, from its catalogue entry (api/sagas/catalogue.ts):
 * start (admission rules, idempotency), list (read model), read, domain events, cancel, retry, follow (SSE, through
 * the one `hub`), and the compensation plan (api/sagas/plan.ts).
 */
export function sagaTypeHandlers<I extends SagaInput, S extends SagaState>(
  type: SagaType,
  deps: SagaRoutesDeps,
  hub: FollowHub,
): SagaTypeRoutes<I, S> {
  const { db, idempotencyRetentionMs, shutdown } = deps;
  const api = sagaApiOf(type);
  const { definition } = sagaCatalogue[type];
  const client = sagaClient<I, S>(deps, {
    workflowType: definition.workflowType,
    noun: api.noun,
    workflowId: api.workflowId,
    location: (id) => `${api.ownPath}/${id}`,
  });
  const record = sagaRecord(db, { sagaType: type, workflowId: api.workflowId });
  const startOnce = sagaStarts(client, {
    db,
    idempotencyRetentionMs,
    ...(api.idempotencyScope !== undefined ? { operation: api.idempotencyScope } : {}),
  });
  const { read, domainEvents, cancel, retryCompensation, skipCompensation } = sagaHandlers(client, record);

  const handlers: PerSagaHandlers = {
    async start(input, req, res) {
      const body = input.body;
      await startOnce(req, res, {
        key: input.headers['Idempotency-Key'],
        body,
        orderId: body.orderId ?? randomUUID(),
        input: (orderId) => api.input(body, orderId) as I,
      });
    },
    async list(input, _req, res) {
      res.json(await record.list(input.query));
    },
    get: read,
    domainEvents,
    cancel,
    retryCompensation,
    skipCompensation,
    async events(input, req, res) {
      const { orderId } = input.params;
      logSagaOfRequest(req, res, client.logFields(orderId));
      const readState = () => stateOrView(client, record, orderId);
      const first = await readState(); // 404 before any byte of the stream
      const source = () => ({ eventsAfter: (sequence: number) => record.events(orderId, sequence), readState });
      await streamStates(req, res, { first, hub, key: api.workflowId(orderId), source, shutdown });
    },
    async plan(input, req, res) {
      const { orderId } = input.params;
      logSagaOfRequest(req, res, client.logFields(orderId));
      const { status, steps, compensationFailure } = await stateOrView(client, record, orderId);
      res.json(compensationPlan(type, definition, { orderId, status, steps, compensationFailure }));
    },
  };
  return { client, handlers };
}

type GeneratedHandlers = Pick<Handlers, `sagas.${SagaType}.${keyof PerSagaHandlers}` | 'listSagaTypes'>;

/** The generic saga API: the catalogue, and every saga type's `/sagas/{type}/…` operations by operation id. */
export function genericSagaHandlers(byType: Record<SagaType, { handlers: PerSagaHandlers }>): GeneratedHandlers {
  const generated: Record<string, unknown> = {};
  for (const type of sagaTypes) {
    for (const op of perSagaOperationNames) generated[sagaOperationId(type, op)] = byType[type].handlers[op];
  }
  const catalogue = {
    sagas: sagaTypes.map((type) => ({ ...describeDefinition(sagaCatalogue[type].definition), path: `/sagas/${type}` })),
  };
  const listSagaTypes: Handlers['listSagaTypes'] = (_input, _req, res) => {
    res.json(catalogue);
  };
  return { ...(generated as Omit<GeneratedHandlers, 'listSagaTypes'>), listSagaTypes };
}

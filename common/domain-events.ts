/**
 * Domain events: the integration events every saga appends to its stream (docs/events.md). The names, the saga
 * types and the id scheme; the shapes are zod schemas in `shapes/domain-events.ts`. This module stays free of zod,
 * because the workflows import its values.
 */

/** Patch id: sagas started before it append no domain events (their histories replay without the local activity). */
export const DOMAIN_EVENTS_PATCH = 'domain-events';

/**
 * Patch id: a saga holds the events its local steps emit and appends them in one batch where it next waits on
 * something else (a regular activity, a timer, a signal, its end), each batch after the one before; sagas started
 * before it append at every transition, each append carrying the whole stream so far (workflows/saga/domain-events.ts).
 */
export const DOMAIN_EVENTS_PER_TASK_PATCH = 'domain-events-per-task';

export const DomainEventType = {
  SagaStarted: 'SagaStarted',
  SagaTotalSet: 'SagaTotalSet',
  StepCompleted: 'StepCompleted',
  StepFailed: 'StepFailed',
  CompensationStarted: 'CompensationStarted',
  CompensationCompleted: 'CompensationCompleted',
  CompensationFailed: 'CompensationFailed',
  WaitingForOperator: 'WaitingForOperator',
  OperatorResolved: 'OperatorResolved',
  CompensationSkipped: 'CompensationSkipped',
  OperatorActionRecorded: 'OperatorActionRecorded',
  SagaCompleted: 'SagaCompleted',
  SagaCompensated: 'SagaCompensated',
  /** An order saga's report of its cancellation (a definition's `onCancelled`): who, and whether it refunded. */
  OrderCancelled: 'OrderCancelled',
} as const;
export type DomainEventType = (typeof DomainEventType)[keyof typeof DomainEventType];

/** The saga types a stream can belong to (`sagaType` of every event). */
export const SagaType = {
  order: 'order',
  transportOrder: 'transport-order',
  orderFulfilment: 'order-fulfilment',
} as const;
export type SagaType = (typeof SagaType)[keyof typeof SagaType];

/**
 * An event's id: the saga's workflow id and its sequence. A workflow id names one saga for good (the API never
 * starts a second saga with the same order id, also after the first one's workflow is gone), and the sequence is
 * assigned by the workflow's deterministic code, so every attempt of the append (a retried activity, a worker that
 * died mid-write, a replay) produces the same id for the same transition. The run id is left out on purpose: a
 * reset starts a new run, and its replayed transitions must not be appended a second time.
 */
export function domainEventId(workflowId: string, sequence: number): string {
  return `${workflowId}#${sequence}`;
}

export type { DomainEvent, DomainEventBatch } from './shapes/domain-events';

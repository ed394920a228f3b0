import { z } from 'zod';
import { ActorKind, OperatorActionName } from './operator-action';
import { Timestamp } from './primitives';
import { SagaStatus, StepState } from './saga-state';
import { SagaType } from './domain-events';

/**
 * The read model: one view per saga, projected from its domain events (store/saga-views.ts), kept in MongoDB
 * after Temporal has forgotten the workflow. It holds what the events hold: no failure messages, operator names or
 * reasons (docs/events.md), so it is not the saga's full state but the record that it existed and how it went.
 */

/** A step as the saga's state has it, with the failure's type alone (the events carry no failure messages). */
export const ViewStep = StepState.omit({ error: true }).extend({
  /** The failure type when the step failed (or its compensation did), else null. */
  errorType: z.string().nullable(),
});
export type ViewStep = z.infer<typeof ViewStep>;

export const SagaView = z.object({
  /** Says that this answer comes from the read model, not from the workflow. */
  source: z.literal('read-model'),
  sagaType: SagaType,
  orderId: z.string(),
  workflowId: z.string(),
  /** The run that started the saga. */
  runId: z.string(),
  customerId: z.string(),
  status: SagaStatus,
  /** An order's total, a transport order's price (currency units); null until known. */
  total: z.number().nullable(),
  steps: z.array(ViewStep),
  failure: z.object({ step: z.string().nullable(), type: z.string() }).nullable(),
  compensationFailure: z.object({ step: z.string(), compensation: z.string(), type: z.string() }).nullable(),
  cancelled: z.boolean(),
  operatorActions: z.array(z.object({ action: OperatorActionName, byKind: ActorKind, at: Timestamp })),
  startedAt: Timestamp,
  /** Time of the last event applied. */
  updatedAt: Timestamp,
  /** When it completed or compensated; null while open. */
  closedAt: Timestamp.nullable(),
  /** The sequence of the last event applied. */
  lastSequence: z.number().int(),
});
export type SagaView = z.infer<typeof SagaView>;

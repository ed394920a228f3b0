/**
 * What the sagas' traces are made of (docs/operations.md, "Traces"): the names of the spans the compensation engine
 * opens inside the workflow (workflows/saga/tracing.ts) and the attributes it puts on them. Names only: the workflow
 * sandbox imports it.
 */

/** Span names: `SagaStep:<step>` around a step's participant call, `SagaCompensation:<compensation>` around an undo. */
export const sagaSpanName = {
  step: (step: string) => `SagaStep:${step}`,
  compensation: (compensation: string) => `SagaCompensation:${compensation}`,
} as const;

/** Span attributes of the sagas. Ids and names only: never a payload, an address or a payment token. */
export const sagaSpanAttributes = {
  /** The saga's type (workflow type), on the workflow's `RunWorkflow:<type>` span. */
  type: 'saga.type',
  /** The business id (the order id, the transport order id, the customer id of the loyalty workflow). */
  id: 'saga.id',
  /** The saga's last status in this run: COMPLETED, COMPENSATED, or FAILED (a compensation gave up), as its state says. */
  status: 'saga.status',
  /** The step a span belongs to (a step's span, and a compensation's: the step it undoes). */
  step: 'saga.step',
  /** `completed` or `failed` on a step's span; `compensated` or `failed` on a compensation's. */
  outcome: 'saga.step.outcome',
  /** The compensation's name, on its span and on the span of the step it undoes. */
  compensation: 'saga.compensation',
  /** The attempt that gave the step's answer (1 unless retried). */
  attempts: 'saga.step.attempts',
  /** Why a step or a compensation failed: the failure type (e.g. PaymentDeclined, RetriesExhausted), not its text. */
  failureType: 'saga.failure.type',
} as const;

import { z } from 'zod';
import { SagaType } from '../common/shapes/domain-events';
import { SagaStatus, StepStatus } from '../common/shapes/saga-state';
import { Id } from '../common/shapes/primitives';
import type { DescribedSaga as DescribedSagaType } from '../workflows/definitions/describe';
import { StepKind as StepKinds } from '../workflows/saga/definition';

/**
 * The generic saga API's own shapes (`/sagas`, `/sagas/{type}/…`): the catalogue of saga definitions and the
 * compensation plan. The saga states and inputs are those of `common/shapes/`, per type.
 */

/** One saga of a type, by its order id: `/sagas/{type}/:orderId`, `/orders/:orderId`, `/transport-orders/:orderId`. */
export const SagaIdParam = z.strictObject({ orderId: Id });

export const StepKind = z.enum(StepKinds);

const Call = z.object({
  activity: z.string(),
  /** `local` (inside the workflow task) or `regular`. */
  mode: z.string(),
  /** The named timeout and retry preset (workflows/saga/policies.ts). */
  preset: z.string(),
  failures: z.array(z.string()).meta({ description: 'The business failures its activity declares' }),
});
const Compensation = z.object({ activity: z.string(), preset: z.string() }).nullable();

const DescribedNode = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('step'),
    name: z.string(),
    kind: StepKind,
    call: Call,
    compensation: Compensation,
    variants: z.array(z.object({ name: z.string(), activity: z.string(), compensation: z.string().nullable() })),
  }),
  z.object({
    type: z.literal('parallel'),
    name: z.string(),
    over: z.string(),
    member: z.string().meta({ description: "A member's step name, `<item>` standing for the item" }),
    kind: StepKind,
    call: Call,
    compensation: Compensation,
  }),
  z.object({
    type: z.literal('wait'),
    name: z.string(),
    wait: z.literal('approval'),
    update: z.literal('decide'),
    // `['approve', 'reject']`; an array of the two, as a tuple is not one schemathesis reads in OpenAPI 3.1.
    signals: z.array(z.enum(['approve', 'reject'])),
    failures: z.array(z.string()),
  }),
]);

/** A saga definition as data: `describeDefinition` (workflows/definitions/describe.ts), what `npm run saga -- describe --json` prints. */
export const DescribedSaga = z.object({
  name: z.string(),
  version: z.number().int(),
  workflowType: z.string(),
  description: z.string(),
  choices: z.array(z.object({ name: z.string(), activity: z.string(), patch: z.string(), description: z.string() })),
  steps: z.array(DescribedNode),
  /** How it compensates (docs/sagas.md, "Compensation policies"). */
  compensation: z.object({ order: z.enum(['sequential', 'parallel']), onFailure: z.enum(['stop', 'continue']) }),
  outcome: z.object({
    completed: z.literal('COMPLETED'),
    afterCompleted: z.object({ activity: z.string(), preset: z.string(), patch: z.string().nullable() }).nullable(),
    compensated: z.literal('COMPENSATED'),
    /** What it reports once compensated: the domain event, the step whose undo is the refund. */
    onCancelled: z.object({ event: z.string(), refundStep: z.string().nullable() }).nullable(),
    compensationFailed: z.literal('FAILED'),
  }),
  patches: z.object({ localCalls: z.string().nullable(), afterCompleted: z.string().nullable() }),
});

/** Checked at build: what `describeDefinition` gives is what the schema above describes. */
type Fits<A, B> = [A] extends [B] ? true : false;
const describedFits: Fits<DescribedSagaType, z.infer<typeof DescribedSaga>> = true;
void describedFits;
/** And no field of it is missing from the schema (a response with a field the document does not name is refused). */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const sameFields: SameKeys<DescribedSagaType, z.infer<typeof DescribedSaga>> = true;
const sameOutcome: SameKeys<DescribedSagaType['outcome'], z.infer<typeof DescribedSaga>['outcome']> = true;
void sameFields;
void sameOutcome;

export const SagaCatalogue = z.object({
  sagas: z.array(
    DescribedSaga.extend({
      /** Where its sagas are: `/sagas/{type}`. */
      path: z.string(),
    }),
  ),
});

/** One compensation the plan would run, in the order it would run. */
export const PlannedCompensation = z.object({
  step: z.string(),
  compensation: z.string(),
  /** The step's status now (a FAILED or RUNNING step is undone too: its compensation was pushed before it ran). */
  stepStatus: StepStatus,
  /** The parallel group the step is a member of (`addParcel`), or null. */
  group: z.string().nullable(),
});

/** A step whose effect stays: nothing undoes it. */
export const KeptStep = z.object({
  step: z.string(),
  /** Its kind in the definition; `wait` for an approval. */
  kind: z.union([StepKind, z.literal('wait')]),
  stepStatus: StepStatus,
  reason: z.enum(['read', 'wait', 'pivot', 'retriable']).meta({
    description:
      '`read`: it changed nothing; `wait`: a decision, nothing to undo; `pivot`: the point of no return; ' +
      '`retriable`: a step after it (or in its place), retried until it succeeds',
  }),
});

export const CompensationPlan = z.object({
  sagaType: SagaType,
  orderId: z.string(),
  status: SagaStatus,
  /**
   * Compensations that would run now, first to last: while RUNNING, what a cancellation (or a failing step) would
   * undo; while COMPENSATING or FAILED, what is left, the one running or failed first. Empty once COMPLETED or
   * COMPENSATED.
   */
  compensations: z.array(PlannedCompensation),
  /** The failed compensation a FAILED saga waits on (an operator's retry resumes there), else null. */
  waitingOn: z.object({ step: z.string(), compensation: z.string() }).nullable(),
  /** Started steps that cannot be undone: reads, waits, the pivot and the steps after it. */
  cannotUndo: z.array(KeptStep),
  /** Steps already compensated, in the order they were. */
  compensated: z.array(z.object({ step: z.string(), compensation: z.string() })),
});
export type CompensationPlan = z.infer<typeof CompensationPlan>;

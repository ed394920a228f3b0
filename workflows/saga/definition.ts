/**
 * A saga as a definition: its name and version, how its id, customer and first state come from its input, and its
 * steps in order (a step, a parallel group, a wait), each with its kind, its participant call and compensation, its
 * UI summary, its call mode and retry preset. One interpreter (`run-definition.ts`) runs any definition on the one
 * compensation engine (`compensation-stack.ts`); the tooling reads the same object to validate it
 * (`workflows/definitions/validate.ts`), describe it as JSON or a Mermaid diagram (`workflows/definitions/describe.ts`)
 * and, on the API side, join it to its input's zod schema (`api/sagas/catalogue.ts`).
 *
 * Plain TypeScript, no zod and no I/O: the workflow bundle imports it. Workflow code only in what a definition's
 * functions do (build a call's arguments, a summary, record a result in the state): they run inside the workflow,
 * so they must be deterministic like any workflow code.
 *
 * The builder types what it can at build time:
 * - a step's call arguments are its activity's parameter, its `then` gets its activity's result, and later steps
 *   read earlier results by step name (`ctx.results.priceOrder.totalCents`);
 * - a `compensatable` step must have a compensation, any other kind must not;
 * - after a `pivot` or a `retriable` step, no `compensatable` step, no second `pivot`, no parallel group, no wait,
 *   and no step whose activity declares a business failure;
 * - a `retriable` step, a compensation and the call after completion name an activity that declares no business
 *   failure (`ParticipantFailures` in common/failures.ts);
 * - `mode: 'local'` only with a preset that has a local variant; step names are unique.
 * `validate.ts` checks the same rules at run time (for definitions that bypass the types, and in `npm test`).
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { Attempted } from '../../common/attempted';
import type { BusinessFailureType, DeclaredFailure } from '../../common/failures';
import type { SagaType } from '../../common/domain-events';
import type { CompensationPolicy, SagaState } from '../../common/saga-state';
import type { ApprovalFields, PersonDecision } from '../../common/approval';
import type { CancellationFields } from '../../common/cancellation';
import type { DomainEventType } from '../../common/domain-events';
import type { CallPreset, LocalCallPreset } from './policies';

/**
 * The saga taxonomy (Garcia-Molina & Salem; Richardson): `compensatable` steps can be undone; the `pivot` is the
 * point of no return (once it succeeded the saga goes forward only); `retriable` steps come after the pivot and
 * cannot fail with a business failure (they are retried until they succeed); `read` steps change nothing and have
 * nothing to undo.
 */
export const StepKind = {
  compensatable: 'compensatable',
  pivot: 'pivot',
  retriable: 'retriable',
  read: 'read',
} as const;
export type StepKind = (typeof StepKind)[keyof typeof StepKind];

/**
 * How a participant call runs: `regular` (an activity scheduled through the server) or `local` (inside the workflow
 * task; the rule is in `workflows/definitions/order-saga.ts`). Decided once per saga, at its start
 * (`modeOf` in `run-definition.ts`): by the definition and its `localCallsPatch`, by the saga type's stored
 * configuration (the `config` start choice), and by a step's call variants (the carrier reached over a broker: a
 * regular activity completed asynchronously).
 */
export type CallMode = 'local' | 'regular';

export type ActivityName = keyof Activities; // the same names as ParticipantName (checked in activities/index.ts)
export type ArgOf<A extends ActivityName> = Parameters<Activities[A]>[0];
export type ResultOf<A extends ActivityName> =
  Awaited<ReturnType<Activities[A]>> extends Attempted<infer R> ? R : never;
/** Activities that declare no business failure: the only ones a retriable step, a compensation or an after-completion call may name. */
export type InfallibleActivity = {
  [A in ActivityName]: [DeclaredFailure<A>] extends [never] ? A : never;
}[ActivityName];

/** What a definition's functions get: the input, the state, earlier results, and what the engine offers. */
export interface SagaContext<I, S, R> {
  readonly input: I;
  /** The saga's state (what `getState` answers): a step's `then` records there what the step learnt. */
  readonly state: S;
  /** The results of the steps that ran, by step name; a parallel group's: its members' results in order. */
  readonly results: R;
  /** `<workflowId>:<step>`: a participant call's idempotency key. */
  readonly key: (step: string) => string;
  /** Records the saga's amount (`OrderTotal` and a `SagaTotalSet` event). */
  readonly setTotal: (total: number) => void;
  /** What the saga fixed at its start (`SagaHeader.choices`), by choice name: the same in every replay. */
  readonly choices: Readonly<Record<string, unknown>>;
}

/**
 * The runtime shapes, which the interpreter and the tooling read. Their functions are methods, so that a builder's
 * precisely typed functions (`(ctx: SagaContext<OrderSagaInput, OrderState, { priceOrder: … }>) => …`) are stored
 * here as they are; the builder below is where the types are checked.
 */
export type AnyContext = SagaContext<unknown, SagaState, Record<string, unknown>>;

export interface CallNode {
  activity: ActivityName;
  mode: CallMode;
  preset: CallPreset;
  /** The activity's argument; a parallel group's member call also gets its item. */
  args(this: void, ctx: AnyContext, item: string): unknown;
}

export interface CompensationNode {
  /** The compensation's name in the state (`steps[].compensation`): its activity's name. */
  activity: ActivityName;
  preset: CallPreset;
  args(this: void, ctx: AnyContext, item: string): unknown;
  summary(this: void, ctx: AnyContext, item: string): string;
}

/**
 * Another way to make a step's call, chosen per saga by what it fixed at its start (`SagaHeader.choices`): the same
 * arguments as the step's own call and compensation, other activities, options computed from the choice. The order
 * saga's `createShipment` reaches the carrier by command over the broker when the saga chose `broker`
 * (docs/sagas.md, "A participant over the broker").
 */
export interface StepVariant {
  /** The variant's name in the diagrams and the catalogue: `broker`. */
  name: string;
  /** When the variant replaces the step's own call and compensation: read from `ctx.choices`. */
  when(this: void, ctx: AnyContext): boolean;
  summary(this: void, ctx: AnyContext): string;
  call: { activity: ActivityName; options(this: void, ctx: AnyContext): ActivityOptions };
  compensation?: {
    activity: ActivityName;
    options(this: void, ctx: AnyContext): ActivityOptions;
    summary(this: void, ctx: AnyContext): string;
  };
}

export interface StepNode {
  type: 'step';
  name: string;
  kind: StepKind;
  call: CallNode;
  compensation?: CompensationNode;
  /** Other ways to make the call, the first whose `when` holds replacing it (none: always the call above). */
  variants?: readonly StepVariant[];
  /** The Web UI's one line about the call: which business object, which step ("Order 42: charge 25"). */
  summary(this: void, ctx: AnyContext): string;
  /** Records the result in the state (or refuses it by throwing a business failure); the result is in `results` too. */
  then?(this: void, ctx: AnyContext, result: unknown): void;
}

/** One step per item (`each`), all started at once and joined (`Saga.all`); each pushes its own compensation. */
export interface ParallelNode {
  type: 'parallel';
  name: string;
  /** The members' kind (a parallel group is before the pivot: compensatable or read). */
  kind: StepKind;
  /** What `each` iterates, for the diagrams ("parcelIds"). */
  over: string;
  call: CallNode;
  compensation?: CompensationNode;
  each(this: void, ctx: AnyContext): readonly string[];
  /** A member's step name: `addParcel:<parcelId>`. */
  member(this: void, item: string): string;
  summary(this: void, ctx: AnyContext, item: string): string;
  then?(this: void, ctx: AnyContext, results: unknown[]): void;
}

/**
 * A person's decision with a deadline (`approval.ts`): the `decide` update (validated: one decision wins) and, for
 * older clients, the `approve`/`reject` signals. Approval passes; a rejection or the deadline fails the step with a
 * business failure and the saga compensates. Needs the state's `ApprovalFields`.
 */
export interface WaitNode {
  type: 'wait';
  name: string;
  wait: 'approval';
  /** What the approval is about, in messages: "Transport order 42". */
  subject(this: void, ctx: AnyContext): string;
  /** The deadline; `configuredMs`: the stored configuration's for this wait (`deadlineSeconds`), if any. */
  deadlineMs(this: void, ctx: AnyContext, configuredMs: number | undefined): number;
  summary(this: void, ctx: AnyContext): string;
}

export type SagaNode = StepNode | ParallelNode | WaitNode;

/** A call run once the saga COMPLETED: not a step, nothing to undo, retried until done, not cancellable. */
export interface AfterCompletedNode {
  activity: ActivityName;
  preset: CallPreset;
  /** The patch id that introduced it: sagas that completed before it replay without it. */
  patch?: string;
  /**
   * The patch id (evaluated at the saga's start) since which the call is a local activity started beside the last
   * domain event's append, in the saga's last workflow task, instead of a regular activity after it (one workflow
   * task less, and its latency overlaps the append's). Its preset must have a local variant.
   */
  inTaskPatch?: string;
  args(this: void, ctx: AnyContext): unknown;
}

/** Failures a wait raises itself. */
export const ApprovalFailures = ['Rejected', 'DecisionTimedOut'] as const satisfies readonly BusinessFailureType[];

/**
 * Something a saga fixes once, at its start, and records in its history (a local activity's marker) so that every
 * replay takes the same path whatever the replaying worker's configuration: the carrier it talks to. Made inside the
 * saga's run, before its first step, so that a cancellation then compensates as any other. Introduced behind `patch`:
 * a saga started before it gets `fallback`.
 */
export interface StartChoice {
  name: string;
  /** A configuration read that cannot fail for a business reason, run as a local activity (`configurationCall`). */
  activity: InfallibleActivity;
  /** The activity's arguments (none: called without any, as the carrier choice always was). */
  args?: readonly unknown[];
  patch: string;
  fallback: unknown;
  /** What it chooses, for the catalogue and the diagrams. */
  description: string;
}

/**
 * What a saga reports once it compensated, whatever the cause: `state.cancellation` and a domain event (`event`,
 * appended just before `SagaCompensated`) saying who cancelled (`customer`: a cancel through the API; `operator`: a
 * cancel from the CLI or the Web UI; `system`: a step's failure), whether a refund was issued (the `refundStep`'s
 * compensation took something back), the failed step and type, and every unavailable sku (an `OutOfStock` failure's
 * detail). Needs the state's `CancellationFields`. Commands: none of its own (the event rides on the stream's append).
 */
export interface OnCancelled {
  event: typeof DomainEventType.OrderCancelled;
  /** A compensatable step whose compensation is the refund (its outcome `undone` or `already-undone`: issued). */
  refundStep?: string;
}

export interface SagaHeader<I, S extends SagaState> {
  /** The saga type: the domain events' `sagaType`, the name the tooling and (part 2) `/sagas/{type}` use. */
  name: SagaType;
  /** Bumped when the definition changes what it does (new workflow type or new patch: docs/sagas.md). */
  version: number;
  /** The Temporal workflow type the worker registers it under. */
  workflowType: string;
  /** One line about the saga, for the catalogue and the diagrams. */
  description: string;
  sagaId(this: void, input: I): string;
  customerId(this: void, input: I): string;
  /** The saga's own state fields; the engine adds status, steps, failure, … */
  initialState(this: void, input: I): Omit<S, keyof SagaState>;
  /**
   * The patch id that introduced local calls (`patched()`, evaluated first, once): a saga started before it runs
   * every step as a regular activity. Omitted: the modes apply as declared.
   */
  localCallsPatch?: string;
  /** What the saga fixes at its start, in this order (`ctx.choices`). */
  choices?: readonly StartChoice[];
  /** What it reports once it compensated (the state must carry `CancellationFields`). */
  onCancelled?: OnCancelled;
  /**
   * How the saga compensates (`CompensationPolicy` in common/saga-state.ts): the order of its compensations and
   * what a compensation that keeps failing does. Omitted: sequential and stop, as every saga did before policies.
   * Changing it changes what a running saga issues: a new workflow type, or a policy of its own behind a patch.
   */
  compensation?: CompensationPolicy;
}

export interface SagaDefinition<I = unknown, S extends SagaState = SagaState> extends SagaHeader<I, S> {
  nodes: readonly SagaNode[];
  afterCompleted?: AfterCompletedNode;
}

// ---------------------------------------------------------------------------------------------------------------
// The builder: where the types are checked.
// ---------------------------------------------------------------------------------------------------------------

/** The builder's phase: `open` until a pivot or a retriable step; `closed` after (no compensatable step, no pivot). */
type Phase = 'open' | 'closed';

type Refused<Message extends string> = { refused: Message };

type CallOf<C, A extends ActivityName, X extends unknown[]> = {
  activity: A;
  args: (ctx: C, ...item: X) => ArgOf<A>;
} & ({ mode: 'local'; preset: LocalCallPreset } | { mode: 'regular'; preset: CallPreset });

type CompensationOf<C, CA extends ActivityName, X extends unknown[]> = {
  activity: CA;
  preset: CallPreset;
  args: (ctx: C, ...item: X) => ArgOf<CA>;
  summary: (ctx: C, ...item: X) => string;
};

/** A variant takes its step's arguments: its activities must take the same parameter and give the same result. */
type SameCall<A extends ActivityName> = {
  [V in ActivityName]: [ArgOf<V>, ResultOf<V>] extends [ArgOf<A>, ResultOf<A>]
    ? [ArgOf<A>, ResultOf<A>] extends [ArgOf<V>, ResultOf<V>]
      ? V
      : never
    : never;
}[ActivityName];
type SameArg<A extends ActivityName> = {
  [V in ActivityName]: [ArgOf<V>] extends [ArgOf<A>] ? ([ArgOf<A>] extends [ArgOf<V>] ? V : never) : never;
}[ActivityName];

type VariantOf<C, A extends ActivityName, CA extends ActivityName> = {
  name: string;
  when: (ctx: C) => boolean;
  summary: (ctx: C) => string;
  call: { activity: SameCall<A>; options: (ctx: C) => ActivityOptions };
  compensation?: {
    activity: [CA] extends [never] ? never : SameArg<CA> & InfallibleActivity;
    options: (ctx: C) => ActivityOptions;
    summary: (ctx: C) => string;
  };
};

type KindRules<
  K extends StepKind,
  A extends ActivityName,
  CA extends ActivityName,
  P extends Phase,
  C,
  X extends unknown[],
> = ([K] extends ['compensatable']
  ? { compensation: CompensationOf<C, CA, X> }
  : { compensation?: Refused<'only a compensatable step has a compensation'> }) &
  ([K] extends ['retriable']
    ? [A] extends [InfallibleActivity]
      ? unknown
      : Refused<'a retriable step must call an activity that declares no business failure (ParticipantFailures)'>
    : unknown) &
  ([CA] extends [InfallibleActivity]
    ? unknown
    : Refused<'a compensation must call an activity that declares no business failure (ParticipantFailures)'>) &
  ([P] extends ['closed']
    ? [K] extends ['compensatable' | 'pivot']
      ? Refused<'no compensatable step and no second pivot after the pivot or a retriable step'>
      : [A] extends [InfallibleActivity]
        ? unknown
        : Refused<'after the pivot no step may fail with a business failure (ParticipantFailures)'>
    : unknown);

type Unique<N extends string, Names extends string> = [N] extends [Names]
  ? Refused<'step names must be unique'>
  : unknown;

type Ctx<I, S, R> = SagaContext<I, S, R>;

export class SagaBuilder<I, S extends SagaState, R, Names extends string, P extends Phase> {
  private constructor(
    private readonly header: SagaHeader<I, S>,
    private readonly nodes: readonly SagaNode[],
  ) {}

  /** @internal */
  static start<I, S extends SagaState>(header: SagaHeader<I, S>): SagaBuilder<I, S, object, never, 'open'> {
    return new SagaBuilder(header, []);
  }

  /** A step: one participant call, and for a compensatable step the call that undoes it. */
  step<N extends string, K extends StepKind, A extends ActivityName, CA extends ActivityName = never>(
    name: N,
    spec: {
      kind: K;
      summary: (ctx: Ctx<I, S, R>) => string;
      call: CallOf<Ctx<I, S, R>, A, []>;
      then?: (ctx: Ctx<I, S, R>, result: ResultOf<A>) => void;
      variants?: readonly VariantOf<Ctx<I, S, R>, A, CA>[];
    } & KindRules<K, A, CA, P, Ctx<I, S, R>, []> &
      Unique<N, Names>,
  ): SagaBuilder<I, S, R & { [k in N]: ResultOf<A> }, Names | N, [K] extends ['pivot' | 'retriable'] ? 'closed' : P> {
    const { kind, summary, call, then, compensation, variants } = spec as unknown as StepNode;
    const node: StepNode = { type: 'step', name, kind, call, summary, ...(then ? { then } : {}) };
    if (compensation) node.compensation = compensation;
    if (variants) node.variants = variants;
    return new SagaBuilder(this.header, [...this.nodes, node]);
  }

  /** One step per item of `each`, started together and joined: see `ParallelNode`. */
  parallel<
    N extends string,
    K extends 'compensatable' | 'read',
    A extends ActivityName,
    CA extends ActivityName = never,
  >(
    name: N,
    spec: {
      kind: K;
      over: string;
      each: (ctx: Ctx<I, S, R>) => readonly string[];
      member: (item: string) => string;
      summary: (ctx: Ctx<I, S, R>, item: string) => string;
      call: CallOf<Ctx<I, S, R>, A, [item: string]>;
      then?: (ctx: Ctx<I, S, R>, results: ResultOf<A>[]) => void;
    } & KindRules<K, A, CA, P, Ctx<I, S, R>, [item: string]> &
      Unique<N, Names> &
      ([P] extends ['closed'] ? Refused<'no parallel group after the pivot'> : unknown),
  ): SagaBuilder<I, S, R & { [k in N]: ResultOf<A>[] }, Names | N, P> {
    const { kind, over, each, member, summary, call, then, compensation } = spec as unknown as ParallelNode;
    const node: ParallelNode = { type: 'parallel', name, kind, over, each, member, summary, call };
    if (then) node.then = then;
    if (compensation) node.compensation = compensation;
    return new SagaBuilder(this.header, [...this.nodes, node]);
  }

  /** A person's approval with a deadline: see `WaitNode`. The state must carry `ApprovalFields`. */
  approval<N extends string>(
    name: N,
    spec: {
      subject: (ctx: Ctx<I, S, R>) => string;
      deadlineMs: (ctx: Ctx<I, S, R>, configuredMs: number | undefined) => number;
      summary: (ctx: Ctx<I, S, R>) => string;
    } & Unique<N, Names> &
      ([S] extends [ApprovalFields] ? unknown : Refused<'an approval needs the state fields of ApprovalFields'>) &
      ([P] extends ['closed'] ? Refused<'no wait after the pivot: a rejection could not be undone'> : unknown),
  ): SagaBuilder<I, S, R & { [k in N]: PersonDecision }, Names | N, P> {
    const { subject, deadlineMs, summary } = spec as unknown as WaitNode;
    const node: WaitNode = { type: 'wait', wait: 'approval', name, subject, deadlineMs, summary };
    return new SagaBuilder(this.header, [...this.nodes, node]);
  }

  /** The definition, with what runs once it COMPLETED (if anything). */
  build<A extends InfallibleActivity = never>(outcome?: {
    afterCompleted?: {
      activity: A;
      preset: CallPreset;
      patch?: string;
      inTaskPatch?: string;
      args: (ctx: Ctx<I, S, R>) => ArgOf<A>;
    };
  }): SagaDefinition<I, S> {
    const after = outcome?.afterCompleted as AfterCompletedNode | undefined;
    return { ...this.header, nodes: this.nodes, ...(after ? { afterCompleted: after } : {}) };
  }
}

/** Starts a definition: `defineSaga<Input, State>({ name, … }).step(…)….build()`. */
export function defineSaga<I, S extends SagaState>(
  header: SagaHeader<I, S> &
    ([S] extends [CancellationFields]
      ? unknown
      : { onCancelled?: Refused<'onCancelled needs the state fields of CancellationFields'> }),
): SagaBuilder<I, S, object, never, 'open'> {
  return SagaBuilder.start(header);
}

/** The input type a definition takes. */
export type InputOf<D> = D extends SagaDefinition<infer I, SagaState> ? I : never;

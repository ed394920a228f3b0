/**
 * The compensation engine every saga uses.
 *
 *   step A ── push undo A, run A ──▶ step B ── push undo B, run B ──▶ … ──▶ COMPLETED
 *                                          │ failure or cancellation
 *                                          ▼
 *                     COMPENSATING: undo B, then undo A (non-cancellable) ──▶ COMPENSATED
 *                                          │ an undo keeps failing
 *                                          ▼
 *                     FAILED (compensation named) ── retryCompensation signal ──▶ resumes there
 *
 * Operator actions are recorded in `state.operatorActions` (`operator-actions.ts`): an honoured
 * `retryCompensation` with the actor its argument names, and a cancellation with the actor of the
 * `cancelRequested` signal the API sends right before it (Temporal's cancel request carries no payload).
 *
 * `retryCompensation` is honoured only while the saga is FAILED; one that arrives at any other time (a stray or
 * early signal while the saga runs, a duplicate while the operator's retry runs) is ignored, so the next failing
 * compensation still waits for an operator. Sagas that handled such a signal before
 * `patched('retry-compensation-only-when-failed')` remembered it and replay that way.
 *
 * Every transition (started, a step completed or failed, compensation started, done or failed, waiting for an
 * operator, resolved, an operator action, completed, compensated) is a domain event appended to the saga's stream
 * (`domain-events.ts`, docs/events.md), since `patched('domain-events')`: sagas started before it append nothing.
 * Since `patched('domain-events-per-task')` the events of local steps are held and appended in one batch where the
 * saga next waits on anything else (`flush()` before a step that is not local, before a compensation, in a handler's
 * operator action, and `flushed()` at the end and before FAILED).
 *
 * The engine logs (through the SDK's replay-aware `log`: nothing while a saga replays, so each line once) every
 * failed step, every compensation, a compensation that fails and leaves the saga waiting for an operator, the
 * operator's retry and the saga's outcome, each with the step it is about. A failure's message is not repeated: the
 * SDK's line about the failed activity carries it, with its stack.
 *
 * A step's compensation is pushed *before* the step runs: a step whose effect landed but whose
 * result was lost (timeout, retries exhausted, worker killed) is still undone. That is safe because
 * every compensation is idempotent and does nothing for an effect that never happened.
 *
 * A compensated saga closes its workflow as failed (`SagaCompensated`, the final state in its details: the Web UI
 * lists it as Failed, not Completed) since `patched('compensated-closes-failed')`; before it, it completed.
 *
 * Traced (`tracing.ts`): each step and each compensation is a span under the saga's, with its outcome; a no-op
 * unless the worker's tracing is on.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AttemptDetail, Attempted } from '../../common/attempted';
import {
  cancelRequestedSignal,
  getStateQuery,
  retryCompensationSignal,
  skipCompensationSignal,
} from '../../common/definitions';
import { SagaFailure } from '../../common/failures';
import {
  SagaStatus,
  StepStatus,
  defaultCompensationPolicy,
  type CompensationFailureInfo,
  type CompensationPolicy,
  type SagaState,
  type StepError,
  type StepState,
} from '../../common/saga-state';
import { OperatorActionName, type CompensationActor, type OperatorActor } from '../../common/operator-action';
import { OrderTotalKey, SagaStatusKey } from '../../common/search-attributes';
import { DOMAIN_EVENTS_PATCH, DOMAIN_EVENTS_PER_TASK_PATCH, DomainEventType } from '../../common/domain-events';
import { DomainEventLog, type Draft, type StreamOf } from './domain-events';
import { compensationEnded, operatorWaitEnded, sagaReached, stepEnded } from './metrics';
import { actorOf, recordOperatorAction } from './operator-actions';
import { sagaSpan, traced } from './tracing';
import { sagaSpanAttributes as spanAttr, sagaSpanName } from '../../common/tracing';

/**
 * Patch id: a `retryCompensation` that arrives while the saga is not FAILED is ignored. Without the patch (sagas
 * that handled such a signal before it) it was remembered and made the next failed compensation retry at once.
 */
export const RETRY_ONLY_WHEN_FAILED = 'retry-compensation-only-when-failed';

/**
 * Patch id: a compensated saga (not a cancelled one, which closes as cancelled) closes its workflow as failed with a
 * `SagaCompensated` failure carrying the final state, instead of completing with it. Sagas that compensated before
 * it completed.
 */
export const COMPENSATED_CLOSES_FAILED = 'compensated-closes-failed';

/** Runs one activity with the UI summary the engine gives it. */
export type Invocation<R> = (meta: { summary: string }) => Promise<Attempted<R>>;

interface WithOptions<A extends unknown[], R> {
  executeWithOptions(options: { summary?: string }, args: A): Promise<Attempted<R>>;
}

/** `call(acts.reserveCredit, input)`: an invocation of a proxied (local) activity. */
export function call<A extends unknown[], R>(fn: WithOptions<A, R>, ...args: A): Invocation<R> {
  return ({ summary }) => fn.executeWithOptions({ summary }, args);
}

/**
 * `waitFor(() => condition(...))`: an invocation that runs inside the workflow (a wait for a signal or
 * a timer) instead of an activity, so that a wait shows in the state as a step like any other.
 */
export function waitFor<R>(fn: () => Promise<R>): Invocation<R> {
  return async () => ({ value: await fn(), attempt: 1 });
}

export interface Compensation {
  name: string;
  summary: string;
  run: Invocation<unknown>;
}

export interface StepSpec<R> {
  name: string;
  /** The activity the step calls, if it calls one: names a local call's timeout replayed from its marker. */
  activity?: string;
  /** One line for the Web UI: which business object, which step. */
  summary: string;
  /**
   * The call is a local activity: the domain events held so far stay held while it runs (it runs inside the
   * workflow task). Any other step (a regular activity, a wait) first appends them.
   */
  local?: boolean;
  run: Invocation<R>;
  /** What undoes this step; omitted for steps that change nothing (reads). */
  compensation?: Compensation;
}

type StackEntry = Compensation & { step: StepState };

interface DescribedFailure extends StepError {
  attempt: number | undefined;
}

const now = (): string => new Date().toISOString(); // deterministic inside a workflow

function attemptOf(failure: ApplicationFailure): number | undefined {
  const detail = failure.details?.[0] as AttemptDetail | undefined;
  return typeof detail?.attempt === 'number' ? detail.attempt : undefined;
}

/** Turns what a step threw into the type and message the state shows. */
export function describeFailure(err: unknown): DescribedFailure {
  if (isCancellation(err))
    return { type: SagaFailure.Cancelled, message: 'The saga was cancelled', attempt: undefined };
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      return { type: cause.type ?? 'Error', message: cause.message, attempt: attemptOf(cause) };
    }
    if (cause instanceof TimeoutFailure) {
      return { type: SagaFailure.Timeout, message: `${err.activityType} timed out`, attempt: undefined };
    }
    return { type: SagaFailure.RetriesExhausted, message: cause?.message ?? err.message, attempt: undefined };
  }
  if (err instanceof ApplicationFailure) return { type: err.type ?? 'Error', message: err.message, attempt: undefined };
  return { type: 'Error', message: err instanceof Error ? err.message : String(err), attempt: undefined };
}

/**
 * What a step threw, as its first run saw it. A local activity's timeout reaches the workflow as an `ActivityFailure`
 * whose cause is the `TimeoutFailure` while the activity runs, but as the bare `TimeoutFailure` when a replay resolves
 * it from the activity's marker: sdk-core wraps timeouts and cancellations when the activity resolves and records the
 * unwrapped failure in the marker, and resolving from a marker wraps cancellations only (core's
 * `local_activity_state_machine.rs`, `From<CompleteLocalActivityData> for ResolveDat`). Wrapping it again here makes
 * the replay take the first run's path. A first run never sees a bare `TimeoutFailure` from a step, so this changes
 * no command of a new run.
 */
export function asFirstRunFailure(err: unknown, activity: string | undefined): unknown {
  if (!(err instanceof TimeoutFailure) || activity === undefined) return err;
  return new ActivityFailure('Local Activity timed out', activity, undefined, 'CANCEL_REQUESTED', undefined, err);
}

/** Failures a saga answers by compensating; anything else is a bug and fails the workflow task. */
function isSagaFailure(err: unknown): boolean {
  return err instanceof ActivityFailure || err instanceof ApplicationFailure || isCancellation(err);
}

/** Which stream a saga writes its domain events to, and the customer its first event names. */
export interface SagaStream extends StreamOf {
  customerId: string;
}
/** The statuses `saga_finished` counts (workflows/saga/metrics.ts). */
const outcomes: readonly SagaStatus[] = [SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED];

export class Saga<S extends SagaState> {
  /** The saga's domain event stream; null for sagas started before `patched('domain-events')`. */
  private readonly events: DomainEventLog | null;
  /** `patched('compensated-closes-failed')` as evaluated at the start (per-task sagas); undefined: at the end. */
  private readonly closesFailed: boolean | undefined;
  private readonly stack: StackEntry[] = [];
  /** The failed compensations the saga waits on (FAILED), in the order they ran. */
  private readonly waiting: StackEntry[] = [];
  /** Operator requests not applied yet: a retry or skip of one failed compensation (`step`) or of all. */
  private readonly requests: { kind: 'retry' | 'skip'; step: string | undefined; actor: CompensationActor }[] = [];
  private readonly policy: CompensationPolicy;
  private failingStep: string | null = null;
  /** Actors of `cancelRequested` signals whose cancellation request has not reached the saga yet. */
  private cancelActors: unknown[] = [];
  private cancelSeen = false;
  /** The workflow's span (RunWorkflow:<type>) when traced: it gets the saga's type, id and status. */
  private readonly span = sagaSpan();
  /** Runs once every compensation ran, before `SagaCompensated`: a definition's `onCancelled` (run-definition.ts). */
  onCompensated: (() => void) | undefined;

  constructor(
    readonly state: S,
    stream: SagaStream,
    options: { compensation?: CompensationPolicy | undefined } = {},
  ) {
    this.policy = options.compensation ?? defaultCompensationPolicy;
    // At the start, before any local activity resolved (run-definition.ts evaluates its own just before). A saga
    // with per-task appends also decides here how a compensated run closes: evaluated at its end, after the last
    // append resolved in the same workflow task, a query's replay of such a saga was seen to fail
    // ("Non-deprecated patch marker encountered"); sagas before it evaluate it at the end, as they were recorded.
    const withEvents = patched(DOMAIN_EVENTS_PATCH);
    const perTask = withEvents && patched(DOMAIN_EVENTS_PER_TASK_PATCH);
    this.events = withEvents ? new DomainEventLog(stream, perTask) : null;
    this.closesFailed = perTask ? patched(COMPENSATED_CLOSES_FAILED) : undefined;
    this.span?.setAttributes({ [spanAttr.type]: stream.sagaType, [spanAttr.id]: stream.sagaId });
    const { workflowId, runId } = workflowInfo();
    this.events?.emit({
      type: DomainEventType.SagaStarted,
      version: 1,
      data: { customerId: stream.customerId, workflowId, runId },
    });
    setHandler(getStateQuery, () => this.state);
    setHandler(retryCompensationSignal, (actor?: CompensationActor) => {
      // patched() only where the old code would differ: a signal sent while FAILED writes no marker.
      if (this.state.status !== SagaStatus.FAILED && patched(RETRY_ONLY_WHEN_FAILED)) {
        log.warn('retryCompensation ignored: the saga is not FAILED', { status: this.state.status });
        return;
      }
      const step = this.targetOf('retryCompensation', actor);
      if (step === null) return;
      // Before the patch a stray signal was remembered once, however many came (a flag, not a queue).
      if (!this.requests.some((r) => r.kind === 'retry' && r.step === undefined) || step !== undefined) {
        this.requests.push({ kind: 'retry', step, actor: actor ?? {} });
      }
      this.recordOperatorAction(OperatorActionName.retryCompensation, actor);
    });
    setHandler(skipCompensationSignal, (actor: CompensationActor) => {
      if (this.state.status !== SagaStatus.FAILED) {
        log.warn('skipCompensation ignored: the saga is not FAILED', { status: this.state.status });
        return;
      }
      if (actorOf(actor).reason === null) {
        log.warn('skipCompensation ignored: it gives no reason');
        return;
      }
      const step = this.targetOf('skipCompensation', actor);
      if (step !== null) this.requests.push({ kind: 'skip', step, actor });
    });
    // The cancel is recorded when its request arrives, with the actor the API signalled just before it: a
    // cancellation that never reaches the saga (it finished in between; the API answers 409) records nothing.
    setHandler(cancelRequestedSignal, (actor: OperatorActor) => {
      if (this.cancelSeen) this.recordOperatorAction(OperatorActionName.cancel, actor);
      else if (this.cancelActors.length < 10) this.cancelActors.push(actor);
    });
    CancellationScope.current().cancelRequested.catch(() => {
      this.cancelSeen = true;
      const actors = this.cancelActors.length > 0 ? this.cancelActors : [undefined];
      for (const actor of actors) this.recordOperatorAction(OperatorActionName.cancel, actor);
      this.cancelActors = [];
    });
    this.setStatus(state.status);
  }

  /** Records the status in the state and in the `SagaStatus` search attribute. */
  setStatus(status: SagaStatus): void {
    const changed = this.state.status !== status;
    this.state.status = status;
    this.span?.setAttribute(spanAttr.status, status);
    if (changed && outcomes.includes(status)) {
      sagaReached(status);
      log.info(`Saga ${status}`, { status });
    }
    if (workflowInfo().typedSearchAttributes.get(SagaStatusKey) !== status) {
      upsertSearchAttributes([{ key: SagaStatusKey, value: status }]);
    }
  }

  /**
   * The step a retry or skip names: undefined for all; null (logged, ignored) when the saga waits on no failed
   * compensation of that step.
   */
  private targetOf(signal: string, arg: unknown): string | undefined | null {
    const step = typeof arg === 'object' && arg !== null ? (arg as { step?: unknown }).step : undefined;
    if (step === undefined) return undefined;
    if (typeof step === 'string' && this.waiting.some((e) => e.step.name === step)) return step;
    log.warn(`${signal} ignored: no failed compensation of that step`, {
      step: typeof step === 'string' ? step : null,
    });
    return null;
  }

  /** Records an operator action in the state (`operator-actions.ts`) and as a domain event (kind of actor only). */
  recordOperatorAction(action: OperatorActionName, arg: unknown, on?: { step: string; compensation: string }): void {
    const { byKind } = recordOperatorAction(this.state, action, arg, on);
    this.events?.emit({ type: DomainEventType.OperatorActionRecorded, version: 1, data: { action, byKind } });
    this.events?.flush(); // mostly a handler's: the saga may go on waiting
  }

  /** Appends an event of the saga's own (a definition's `onCancelled`) to its stream, after those emitted so far. */
  emit(draft: Draft): void {
    this.events?.emit(draft);
  }

  /** The caller is an update's handler: the domain events it causes are appended after its answer (domain-events.ts). */
  answeringUpdate(): void {
    this.events?.deferPastThisTask();
  }

  /** Records the saga's amount (an order's total, a transport order's price) in `OrderTotal` and as an event. */
  setTotal(total: number): void {
    upsertSearchAttributes([{ key: OrderTotalKey, value: total }]);
    this.events?.emit({ type: DomainEventType.SagaTotalSet, version: 1, data: { total } });
  }

  /** Runs one step, its compensation pushed first. Throws what the step threw. */
  async step<R>(spec: StepSpec<R>): Promise<R> {
    const step: StepState = {
      name: spec.name,
      status: StepStatus.RUNNING,
      attempts: 0,
      startedAt: now(),
      completedAt: null,
      compensation: spec.compensation?.name ?? null,
      compensatedAt: null,
      compensationAttempts: 0,
      error: null,
    };
    this.state.steps.push(step);
    if (spec.compensation) this.stack.push({ ...spec.compensation, step });
    if (!spec.local) this.events?.flush();
    const span = traced(
      sagaSpanName.step(spec.name),
      { [spanAttr.step]: spec.name, ...(spec.compensation ? { [spanAttr.compensation]: spec.compensation.name } : {}) },
      () => spec.run({ summary: spec.summary }),
    );
    try {
      const { value, attempt } = await span.result;
      step.attempts = attempt;
      step.status = StepStatus.COMPLETED;
      step.completedAt = now();
      const { name, compensation, attempts, startedAt } = step;
      this.events?.emit({
        type: DomainEventType.StepCompleted,
        version: 1,
        data: { step: name, compensation, attempts, startedAt },
      });
      stepEnded(spec.name, 'completed', step.startedAt, attempt);
      span.end('completed', { attempts: attempt });
      return value;
    } catch (thrown) {
      const err = asFirstRunFailure(thrown, spec.activity);
      const { attempt, ...error } = describeFailure(err);
      step.status = StepStatus.FAILED;
      step.error = error;
      if (attempt !== undefined) step.attempts = attempt;
      stepEnded(spec.name, 'failed', step.startedAt, step.attempts);
      span.end('failed', { attempts: step.attempts, failureType: error.type });
      const fields = { step: spec.name, attempt: step.attempts, failureType: error.type };
      if (isCancellation(err)) log.info('Step cancelled', fields);
      else log.warn('Step failed', fields);
      this.failingStep = spec.name;
      const { name, compensation, attempts, startedAt } = step;
      this.events?.emit({
        type: DomainEventType.StepFailed,
        version: 1,
        data: { step: name, compensation, attempts, startedAt, failureType: error.type },
      });
      throw err;
    }
  }

  /**
   * Runs steps concurrently and joins them: each pushes its compensation first, in the given order,
   * and every step settles before this returns or throws, so no step is still running when
   * compensation starts. Compensation then undoes them in reverse of that order. Throws the failure
   * of the first failed step in the given order.
   */
  async all<R>(specs: StepSpec<R>[]): Promise<R[]> {
    const settled = await Promise.allSettled(specs.map((spec) => this.step(spec)));
    const values: R[] = [];
    for (const [i, result] of settled.entries()) {
      if (result.status === 'rejected') {
        this.failingStep = specs[i]?.name ?? this.failingStep;
        throw result.reason;
      }
      values.push(result.value);
    }
    return values;
  }

  /**
   * Runs the saga's body. On a step's failure or on cancellation it compensates every pushed step
   * in reverse order; a cancellation is rethrown after that, so Temporal records the run as cancelled.
   * `alongsideCompletion` runs (non-cancellable) once the body succeeded, beside the last event's append; the
   * saga ends when both have.
   */
  async run(body: () => Promise<void>, alongsideCompletion?: () => Promise<unknown>): Promise<S> {
    try {
      await body();
      // The final status shows once the stream is complete (a reader that sees it finds every event stored).
      this.events?.emit({ type: DomainEventType.SagaCompleted, version: 1, data: {} });
      this.events?.flush();
      // Started after the last append (its command comes after the append's), awaited after the status: the two
      // calls run at once in the saga's last workflow task. Nothing after the body can fail the saga.
      const alongside = alongsideCompletion && CancellationScope.nonCancellable(alongsideCompletion);
      await this.flushed();
      this.setStatus(SagaStatus.COMPLETED);
      await alongside;
    } catch (err) {
      if (!isSagaFailure(err)) throw err;
      const { type, message } = describeFailure(err);
      const cancelled = isCancellation(err);
      this.state.cancelled = cancelled;
      const running = this.state.steps.find((s) => s.status === StepStatus.RUNNING);
      const failureStep = this.failingStep ?? running?.name ?? null;
      this.state.failure = { step: failureStep, type, message };
      log.info(cancelled ? 'Saga cancelled: compensating' : 'Compensating', { step: failureStep, failureType: type });
      this.events?.emit({
        type: DomainEventType.CompensationStarted,
        version: 1,
        data: { failureStep, failureType: type, cancelled },
      });
      await this.compensate();
      if (cancelled) throw err;
      // patched() here only: a saga that compensated before it completed its workflow, and replays that way.
      if (this.closesFailed ?? patched(COMPENSATED_CLOSES_FAILED)) {
        throw ApplicationFailure.create({
          type: SagaFailure.Compensated,
          message: `Compensated: step ${failureStep ?? 'unknown'} failed with ${type}: ${message}`,
          nonRetryable: true,
          details: [this.state],
        });
      }
    }
    return this.state;
  }

  /** Resolves once every domain event emitted so far is in the stream. */
  async flushed(): Promise<void> {
    await this.events?.flushed();
  }

  private async compensate(): Promise<void> {
    this.setStatus(SagaStatus.COMPENSATING);
    const { order, onFailure } = this.policy;
    await CancellationScope.nonCancellable(async () => {
      // What is left to undo, in the order it runs: last pushed first.
      let queue = [...this.stack].reverse();
      let blocked: StackEntry[] = []; // not run yet: `stop` halted at a failure before them
      for (;;) {
        const failed: StackEntry[] = [];
        if (order === 'parallel') {
          const done = await Promise.all(queue.map((entry) => this.runCompensation(entry)));
          failed.push(...queue.filter((_, i) => !done[i]));
        } else {
          for (const [i, entry] of queue.entries()) {
            if (await this.runCompensation(entry)) continue;
            failed.push(entry);
            if (onFailure === 'stop') {
              blocked = [...queue.slice(i + 1), ...blocked];
              break;
            }
          }
        }
        this.waiting.push(...failed);
        if (this.waiting.length === 0) {
          if (blocked.length === 0) break;
          [queue, blocked] = [blocked, []];
          continue;
        }
        const retried = await this.waitForOperator();
        queue = this.waiting.length === 0 ? [...retried, ...blocked] : retried;
        if (this.waiting.length === 0) blocked = [];
      }
    });
    this.onCompensated?.();
    this.events?.emit({ type: DomainEventType.SagaCompensated, version: 1, data: { cancelled: this.state.cancelled } });
    await this.flushed();
    this.setStatus(SagaStatus.COMPENSATED);
  }

  /** Runs one compensation; true once it succeeded, false (recorded in the state) when it gave up. */
  private async runCompensation(entry: StackEntry): Promise<boolean> {
    const { step } = entry;
    step.status = StepStatus.COMPENSATING;
    this.events?.flush(); // a compensation is a regular activity
    const span = traced(
      sagaSpanName.compensation(entry.name),
      { [spanAttr.step]: step.name, [spanAttr.compensation]: entry.name },
      () => entry.run({ summary: entry.summary }),
    );
    try {
      const { attempt } = await span.result;
      step.compensationAttempts = attempt;
      span.end('compensated', { attempts: attempt });
      step.status = StepStatus.COMPENSATED;
      step.compensatedAt = now();
      compensationEnded(step.name, entry.name, 'compensated');
      log.info('Step compensated', { step: step.name, compensation: entry.name, attempt });
      this.stack.splice(this.stack.indexOf(entry), 1);
      this.events?.emit({
        type: DomainEventType.CompensationCompleted,
        version: 1,
        data: { step: step.name, compensation: entry.name, attempts: step.compensationAttempts },
      });
      return true;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const { type, message, attempt } = describeFailure(err);
      if (attempt !== undefined) step.compensationAttempts = attempt;
      step.status = StepStatus.COMPENSATION_FAILED;
      span.end('failed', { attempts: step.compensationAttempts, failureType: type });
      compensationEnded(step.name, entry.name, 'failed');
      this.state.compensationFailures.push({ step: step.name, compensation: entry.name, type, message });
      this.state.compensationFailure = this.state.compensationFailures[0] ?? null;
      this.events?.emit({
        type: DomainEventType.CompensationFailed,
        version: 1,
        data: { step: step.name, compensation: entry.name, attempts: step.compensationAttempts, failureType: type },
      });
      return false;
    }
  }

  /**
   * FAILED: waits until the operator resolves at least one failed compensation (`this.waiting`) by a retry, or all
   * of them by skips. Skips are applied as they arrive (the saga stays FAILED while others still wait). Returns the
   * compensations to run again; those still waiting stay in `this.waiting`.
   */
  private async waitForOperator(): Promise<StackEntry[]> {
    for (const { step, name } of this.waiting) {
      this.events?.emit({
        type: DomainEventType.WaitingForOperator,
        version: 1,
        data: { step: step.name, compensation: name },
      });
    }
    await this.flushed(); // FAILED shows once the stream is complete
    this.setStatus(SagaStatus.FAILED);
    for (const { step, name } of this.waiting) {
      log.error('Compensation failed; waiting for an operator to send retryCompensation or skipCompensation', {
        step: step.name,
        compensation: name,
        attempt: step.compensationAttempts,
        failureType: this.failureOf(step.name)?.type,
      });
    }
    for (;;) {
      this.events?.flush(); // a skip that leaves others waiting
      await condition(() => this.requests.length > 0);
      const retried: StackEntry[] = [];
      const skipped: { entry: StackEntry; actor: CompensationActor }[] = [];
      for (const request of this.requests.splice(0)) {
        const targets = this.waiting.filter((e) => request.step === undefined || e.step.name === request.step);
        for (const entry of targets) {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          this.state.compensationFailures = this.state.compensationFailures.filter((f) => f.step !== entry.step.name);
          if (request.kind === 'retry') retried.push(entry);
          else skipped.push({ entry, actor: request.actor });
        }
      }
      this.state.compensationFailure = this.state.compensationFailures[0] ?? null;
      const resumes = retried.length > 0 || this.waiting.length === 0;
      if (resumes) {
        operatorWaitEnded();
        this.setStatus(SagaStatus.COMPENSATING);
      }
      for (const entry of retried) {
        const where = { step: entry.step.name, compensation: entry.name };
        log.info('retryCompensation received: compensating again', where);
        this.events?.emit({ type: DomainEventType.OperatorResolved, version: 1, data: where });
      }
      for (const { entry, actor } of skipped) {
        const where = { step: entry.step.name, compensation: entry.name };
        entry.step.status = StepStatus.COMPENSATION_SKIPPED;
        this.stack.splice(this.stack.indexOf(entry), 1);
        log.warn('skipCompensation received: compensation resolved by hand, going on', where);
        this.recordOperatorAction(OperatorActionName.skipCompensation, actor, where);
        this.events?.emit({ type: DomainEventType.CompensationSkipped, version: 1, data: where });
      }
      if (resumes) return retried;
    }
  }

  private failureOf(step: string): CompensationFailureInfo | undefined {
    return this.state.compensationFailures.find((f) => f.step === step);
  }
}

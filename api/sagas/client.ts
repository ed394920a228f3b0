import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { z } from 'zod';
import {
  cancelRequestedSignal,
  getStateQuery,
  retryCompensationSignal,
  skipCompensationSignal,
} from '../../common/definitions';
import type { CompensationActor, OperatorActor } from '../../common/operator-action';
import { finalSagaStatuses, SagaStatus, type SagaState } from '../../common/saga-state';
import { CustomerIdKey, SagaStatusKey } from '../../common/search-attributes';
import { AppError } from '../errors';
import { idempotencyMemo, startedWithKey } from '../idempotency';
import type { SagaRequestFields } from '../request-log';
import type {
  CancelAccepted,
  RetryCompensationAccepted,
  SagaStarted as SagaStartedSchema,
  SkipCompensationAccepted,
} from '../schemas';

/** One kind of saga as the API sees it: its workflow type, how its ids are made and how answers name it. */
export interface SagaKind {
  workflowType: string;
  /** How answers name one: `Order`, `Transport order`. */
  noun: string;
  workflowId: (orderId: string) => string;
  /** The URL of one (the `Location` of a 202). */
  location: (orderId: string) => string;
}

export interface SagaClientDeps {
  temporal: Client;
  taskQueue: string;
  /** Longest one Temporal call may take before the request answers 503. */
  temporalCallMs: number;
  /** Start sagas eagerly (AppDeps.eagerStart). */
  eagerStart: boolean;
}

/** The input every saga starts with: the order it is for and its customer. */
export interface SagaInput {
  orderId: string;
  customerId: string;
}

export type SagaStarted = z.infer<typeof SagaStartedSchema>;

/** Runs one Temporal call within `ms`; past it the call fails as unreachable and the request answers 503. */
export function withDeadline<T>(temporal: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  return temporal.connection.withDeadline(Date.now() + ms, fn);
}

/**
 * What a saga's routes ask Temporal, the same for every saga type: start (idempotency memo, eager start, one
 * saga per order id for good), read its state, cancel it, retry its compensation. Every call has the API's
 * deadline; an unknown saga is a 404 naming it.
 */
export function sagaClient<I extends SagaInput, S extends SagaState>(
  { temporal, taskQueue, temporalCallMs, eagerStart }: SagaClientDeps,
  kind: SagaKind,
) {
  const deadline = <T>(fn: () => Promise<T>) => withDeadline(temporal, temporalCallMs, fn);
  const handle = (orderId: string) => temporal.workflow.getHandle(kind.workflowId(orderId));
  const name = (orderId: string) => `${kind.noun} ${orderId}`;
  /** The saga a request on this order is about, for its log lines (`logSagaOfRequest`, api/request-log.ts). */
  const logFields = (orderId: string): SagaRequestFields => ({
    workflowId: kind.workflowId(orderId),
    sagaType: kind.workflowType,
    sagaId: orderId,
  });

  /** Runs a call on the saga's workflow; an unknown workflow becomes a 404. */
  async function onSaga<T>(orderId: string, fn: (h: WorkflowHandle) => Promise<T>): Promise<T> {
    try {
      return await deadline(() => fn(handle(orderId)));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw AppError.notFound(`${name(orderId)} does not exist`);
      throw err;
    }
  }

  const queryState = (orderId: string) => onSaga(orderId, (h) => h.query(getStateQuery)) as Promise<S>;

  /**
   * Starts the saga; `idempotencyKey` goes into its memo so that a retry can tell its own saga from another's. When
   * the saga was already started with the same key, that saga is the answer (`alreadyStarted: true`); already
   * started otherwise (no key, another key, or none in its memo), a 409.
   */
  async function startOnce(input: I, idempotencyKey?: string): Promise<{ saga: SagaStarted; alreadyStarted: boolean }> {
    const { orderId, customerId } = input;
    const workflowId = kind.workflowId(orderId);
    try {
      const started = await deadline(() =>
        temporal.workflow.start(kind.workflowType, {
          taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: [
            { key: SagaStatusKey, value: SagaStatus.RUNNING },
            { key: CustomerIdKey, value: customerId },
          ],
          ...idempotencyMemo(idempotencyKey),
          staticSummary: `${name(orderId)} for customer ${customerId}`,
          // An order id names one saga for good: never start a second one, even after the first closed.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          requestEagerStart: eagerStart,
        }),
      );
      const saga = { orderId, workflowId, runId: started.firstExecutionRunId, status: SagaStatus.RUNNING };
      return { saga, alreadyStarted: false };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      if (idempotencyKey) {
        // A retry whose first attempt started the saga but did not get to record the answer.
        const description = await deadline(() => handle(orderId).describe());
        if (startedWithKey(description, idempotencyKey)) {
          const saga = { orderId, workflowId, runId: description.runId, status: SagaStatus.RUNNING };
          return { saga, alreadyStarted: true };
        }
      }
      throw AppError.conflict(`${name(orderId)} has already been started`);
    }
  }

  /** `startOnce`'s saga: what a 202 answers, for a first start and a retry alike. */
  const start = async (input: I, idempotencyKey?: string): Promise<SagaStarted> =>
    (await startOnce(input, idempotencyKey)).saga;

  /** Only a RUNNING saga can be cancelled: a compensating or finished one is already settled or being undone. */
  async function cancellableState(orderId: string): Promise<S> {
    const [state, description] = await Promise.all([queryState(orderId), onSaga(orderId, (h) => h.describe())]);
    if (description.status.name !== 'RUNNING' || finalSagaStatuses.includes(state.status)) {
      throw AppError.conflict(`${name(orderId)} has already finished (${state.status}); there is nothing to cancel`);
    }
    if (state.status !== SagaStatus.RUNNING) {
      throw AppError.conflict(`${name(orderId)} is already being undone (${state.status})`);
    }
    return state;
  }

  /**
   * Requests cancellation of a RUNNING saga: it undoes its steps in reverse order. Otherwise a 409. A Temporal
   * cancel request carries no payload, so the actor goes first as the `cancelRequested` signal; the saga records
   * it when the cancel request reaches it (a cancel that does not reach it records nothing).
   */
  async function cancel(orderId: string, actor: OperatorActor): Promise<z.infer<typeof CancelAccepted>> {
    const state = await cancellableState(orderId);
    try {
      await deadline(() => handle(orderId).signal(cancelRequestedSignal, actor));
      await deadline(() => handle(orderId).cancel());
    } catch (err) {
      // The run closed between our check and the request: it is finished, so there is nothing to cancel.
      if (err instanceof WorkflowNotFoundError) {
        await queryState(orderId); // 404 if it really does not exist
        throw AppError.conflict(`${name(orderId)} has already finished; there is nothing to cancel`);
      }
      throw err;
    }
    return { orderId, cancelRequested: true, status: state.status };
  }

  /**
   * The operator's retry of a failed compensation (once its cause is fixed): sends `retryCompensation`, and the
   * saga retries from the compensation that failed, and records `actor`. Only a FAILED saga waits for it; any
   * other is a 409.
   */
  async function retryCompensation(
    orderId: string,
    actor: OperatorActor,
  ): Promise<z.infer<typeof RetryCompensationAccepted>> {
    const state = await queryState(orderId);
    if (state.status !== SagaStatus.FAILED || !state.compensationFailure) {
      throw AppError.conflict(
        `${name(orderId)} is ${state.status}: only a FAILED saga (a compensation gave up) can retry its compensation`,
      );
    }
    try {
      await deadline(() => handle(orderId).signal(retryCompensationSignal, actor));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw AppError.conflict(`${name(orderId)} has already finished`);
      throw err;
    }
    const { step, compensation } = state.compensationFailure;
    return { orderId, retryRequested: true, compensation, step };
  }

  /**
   * The operator resolved a failed compensation by hand: sends `skipCompensation` with who and why (`actor.reason`
   * is required), and the saga marks it skipped and goes on. Only a FAILED saga waits for it, and `actor.step`
   * must name one of its failed compensations; anything else is a 409.
   */
  async function skipCompensation(
    orderId: string,
    actor: CompensationActor,
  ): Promise<z.infer<typeof SkipCompensationAccepted>> {
    const state = await queryState(orderId);
    if (state.status !== SagaStatus.FAILED || !state.compensationFailure) {
      throw AppError.conflict(
        `${name(orderId)} is ${state.status}: only a FAILED saga (a compensation gave up) can skip its compensation`,
      );
    }
    const failures = state.compensationFailures ?? [state.compensationFailure];
    const skipped = failures.filter((f) => actor.step === undefined || f.step === actor.step);
    if (skipped.length === 0) {
      throw AppError.conflict(`${name(orderId)} waits on no failed compensation of step ${actor.step}`);
    }
    try {
      await deadline(() => handle(orderId).signal(skipCompensationSignal, actor));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw AppError.conflict(`${name(orderId)} has already finished`);
      throw err;
    }
    return { orderId, skipRequested: true, skipped: skipped.map(({ step, compensation }) => ({ step, compensation })) };
  }

  return {
    kind,
    logFields,
    deadline,
    handle,
    onSaga,
    queryState,
    start,
    startOnce,
    cancel,
    retryCompensation,
    skipCompensation,
  };
}

export type SagaClient<I extends SagaInput, S extends SagaState> = ReturnType<typeof sagaClient<I, S>>;

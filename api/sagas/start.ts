import type { Request, Response } from 'express';
import type { Db } from 'mongodb';
import { collections } from '../../store/db';
import type { SagaState } from '../../common/saga-state';
import { AppError } from '../errors';
import { answerStartOnce, idempotencyKeys } from '../idempotency';
import { logSagaOfRequest } from '../request-log';
import type { SagaClient, SagaInput } from './client';
import { sagaViewCollection } from '../../store/saga-views';

export interface SagaStartsDeps {
  db: Db;
  /** How long an Idempotency-Key is remembered. */
  idempotencyRetentionMs: number;
  /** Scopes the body hash of the key (api/idempotency.ts `requestHash`); none for `POST /orders`. */
  operation?: string;
}

export interface StartRequest<I extends SagaInput> {
  /** The validated `Idempotency-Key`, or undefined. */
  key: string | undefined;
  /** The validated body (hashed for the key); its `customerId` must name a customer. */
  body: { customerId: string };
  /** The body's order id, or a generated one (the key's record fixes it when there is a key). */
  orderId: string;
  /** The saga's input for the order id the start settles on. */
  input: (orderId: string) => I;
}

/**
 * The admission rules every start of a saga passes, whoever asks (a request: `sagaStarts` below; an `OrderPlaced`
 * message: bootstrap/order-intake.ts): the customer must exist (else a 422, before anything is started or
 * written), an order id the read model knows but Temporal has forgotten is not started again (409), then the saga
 * client's start (search attributes, summary, memo, one saga per order id for good: `SagaClient.startOnce`).
 */
export function sagaStarter<I extends SagaInput, S extends SagaState>(saga: SagaClient<I, S>, { db }: { db: Db }) {
  const { customers } = collections(db);
  const views = sagaViewCollection(db);
  /** The saga checks again (UnknownCustomer) when started by other callers. */
  async function requireCustomer(customerId: string): Promise<void> {
    if (!(await customers.findOne({ _id: customerId }, { projection: { _id: 1 } }))) {
      throw AppError.unprocessable(`Customer ${customerId} does not exist`);
    }
  }
  /**
   * An order id names one saga for good. Temporal refuses a second start only while it remembers the first
   * workflow; once retention (or a deletion) has removed it, the read model still knows the saga, and its stream
   * (whose event ids are `<workflowId>#<sequence>`) must not be mixed with a new saga's: 409.
   */
  async function refuseForgottenSaga(orderId: string): Promise<void> {
    if (!(await views.findOne({ _id: saga.kind.workflowId(orderId) }, { projection: { _id: 1 } }))) return;
    const known = await saga
      .onSaga(orderId, (h) => h.describe())
      .then(
        () => true,
        (err: unknown) => {
          if (err instanceof AppError && err.status === 404) return false;
          throw err;
        },
      );
    if (!known) throw AppError.conflict(`${saga.kind.noun} ${orderId} has already been started`);
  }
  /** Starts the saga once its order id passed the rules (`requireCustomer` first, by the caller). */
  async function startChecked(input: I, idempotencyKey: string | undefined) {
    await refuseForgottenSaga(input.orderId);
    return saga.startOnce(input, idempotencyKey);
  }
  /** Every rule, then the start; `alreadyStarted` when the saga was started with this key before. */
  async function start(input: I, idempotencyKey: string | undefined) {
    await requireCustomer(input.customerId);
    return startChecked(input, idempotencyKey);
  }
  return { requireCustomer, startChecked, start };
}

/**
 * Starting a saga from a request, the same for every saga type: an unknown customer answers 422 before
 * anything is started or written (not even the Idempotency-Key: the same request is a first one once the
 * customer exists), then the start runs once per key (`answerStartOnce`) and answers 202 with its Location.
 */
export function sagaStarts<I extends SagaInput, S extends SagaState>(
  saga: SagaClient<I, S>,
  { db, idempotencyRetentionMs, operation }: SagaStartsDeps,
) {
  const keys = idempotencyKeys(db);
  const starter = sagaStarter(saga, { db });
  return async function startOnce(req: Request, res: Response, { key, body, orderId, input }: StartRequest<I>) {
    await starter.requireCustomer(body.customerId);
    await answerStartOnce(req, res, {
      keys,
      retentionMs: idempotencyRetentionMs,
      key,
      body,
      ...(operation !== undefined ? { operation } : {}),
      orderId,
      location: saga.kind.location,
      start: async (id, idempotencyKey) => {
        logSagaOfRequest(req, res, saga.logFields(id));
        return (await starter.startChecked(input(id), idempotencyKey)).saga;
      },
    });
  };
}

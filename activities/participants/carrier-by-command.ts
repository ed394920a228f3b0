/**
 * The shipment step when the carrier is its own process reached over the broker (CARRIER=broker; docs/sagas.md,
 * "The carrier over the broker"). Each activity publishes one command and completes **asynchronously**: it throws
 * `CompleteAsyncError`, and the worker's reply consumer (workers/carrier-replies.ts) completes the attempt with
 * the carrier's reply, by the task token the command carries. An attempt whose reply does not come within its
 * start-to-close timeout is retried by Temporal: the same command again, with the same message id and key, which
 * the carrier applies at most once.
 */
import { Context, CompleteAsyncError } from '@temporalio/activity';
import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import {
  CarrierHeader,
  type CarrierChoice,
  type CarrierLink,
  CarrierMessageType,
  type OutgoingCarrierCommand,
} from '../../common/carrier';
import type { CreateShipmentInput } from './shipments';

export function createCarrierCommandActivities({ carrier }: { carrier?: CarrierLink | undefined }) {
  async function send(type: string, step: string, body: unknown): Promise<never> {
    if (!carrier) {
      // A saga that chose the broker carrier on another worker: retried until a worker with it takes the attempt.
      throw new Error('This worker has no broker carrier (CARRIER=broker): it cannot send carrier commands');
    }
    const { info } = Context.current();
    const command: OutgoingCarrierCommand = {
      type,
      messageId: `${info.workflowExecution?.workflowId ?? 'unknown'}:${step}`,
      body,
      headers: {
        [CarrierHeader.taskToken]: Buffer.from(info.taskToken).toString('base64'),
        [CarrierHeader.attempt]: info.attempt,
      },
      expirationMs: carrier.settings.replyTimeoutSeconds * 1000,
    };
    await carrier.send(command);
    throw new CompleteAsyncError();
  }

  return {
    /**
     * Which carrier a new order saga talks to: this worker's configuration (CARRIER, its reply timeout and
     * attempts), read once at the saga's start as a local activity so that the saga's history records it and a
     * replay takes the same path whatever the replaying worker's configuration.
     */
    async chooseCarrier(): Promise<CarrierChoice> {
      return Promise.resolve(carrier ? { carrier: 'broker', ...carrier.settings } : { carrier: 'in-process' });
    },

    /**
     * `createShipment` by command: sends `CreateShipment.v1` (message id `<workflowId>:createShipment`, the same
     * on every attempt) and completes with the carrier's reply. Idempotent by `key` at the carrier.
     * @throws non-retryable `ShipmentRejected` (from the reply) when the destination country is not served
     */
    async createShipmentByCommand(input: CreateShipmentInput): Promise<EffectOutcome> {
      return send(CarrierMessageType.createShipment, 'createShipment', input);
    },

    /** `cancelShipment` by command (`CancelShipment.v1`, message id `<workflowId>:cancelShipment`). Idempotent by `key`. */
    async cancelShipmentByCommand({ key }: { key: string }): Promise<CompensationOutcome> {
      return send(CarrierMessageType.cancelShipment, 'cancelShipment', { key });
    },
  };
}

/**
 * The carrier over the broker (docs/sagas.md, "The carrier over the broker"): the names both sides agree on, and the
 * choice a saga records at its start. Free of zod (the workflows import it); the message shapes are in
 * `shapes/carrier.ts`.
 */

/** Patch id: the order saga records which carrier it talks to (`chooseCarrier`) at its start. */
export const CARRIER_CHOICE_PATCH = 'carrier-choice';

/** What a saga talks to for its shipment, fixed when it starts (the `chooseCarrier` local activity's result). */
export type CarrierChoice =
  | { carrier: 'in-process' }
  | {
      carrier: 'broker';
      /** One attempt's wait for the reply (CARRIER_REPLY_TIMEOUT_SECONDS). */
      replyTimeoutSeconds: number;
      /** Attempts of the step before it fails (CARRIER_REPLY_ATTEMPTS). */
      attempts: number;
    };

/** The AMQP `type` of each message, `<name>.v<version>`. */
export const CarrierMessageType = {
  createShipment: 'CreateShipment.v1',
  cancelShipment: 'CancelShipment.v1',
  reply: 'CarrierReply.v1',
} as const;

/**
 * Headers of a command that the carrier copies unchanged onto its reply: the sender's context, opaque to the
 * carrier. `x-task-token` (base64) is the Temporal task token of the attempt that waits; whoever holds it can complete
 * that attempt, so neither side ever logs it. `x-attempt` is that attempt's number.
 */
export const CarrierHeader = { taskToken: 'x-task-token', attempt: 'x-attempt' } as const;
export const echoedCarrierHeaders: readonly string[] = [CarrierHeader.taskToken, CarrierHeader.attempt];

/** The durable queue a worker's replies come back on: one per task queue, so workers of other deployments never meet. */
export function carrierReplyQueue(taskQueue: string): string {
  return `carrier.replies.${taskQueue}`;
}

/** A command as the worker hands it to the broker (broker/carrier.ts `brokerCarrierLink`). */
export interface OutgoingCarrierCommand {
  /** `CarrierMessageType.createShipment` or `.cancelShipment`. */
  type: string;
  /** `<workflowId>:createShipment` (the step's idempotency key) or `<workflowId>:cancelShipment`. */
  messageId: string;
  body: unknown;
  /** `CarrierHeader`s: the attempt's task token and number, echoed on the reply. */
  headers: Record<string, string | number>;
  /** The command's TTL in the queue: an attempt that stopped waiting needs no answer. */
  expirationMs: number;
}

/** How the worker's activities reach the carrier process: set only on a worker with CARRIER=broker. */
export interface CarrierLink {
  /** Publishes the command (persistent, to the command queue, reply-to this worker's reply queue), confirmed. */
  send(command: OutgoingCarrierCommand): Promise<void>;
  /** What new sagas record at their start (`chooseCarrier`). */
  readonly settings: { replyTimeoutSeconds: number; attempts: number };
}

/**
 * What the carrier process does with a command (bootstrap/carrier-main.ts, docs/sagas.md "The carrier over the
 * broker"): the shipments participant's own operations (activities/participants/shipments.ts), idempotent by the
 * command's `key`, so a redelivered or re-sent command is answered with the same effect as the first
 * (`already-applied`). A business refusal (a country not served) is a reply too; anything else (the database away)
 * throws, and no reply is sent.
 */
import { ApplicationFailure } from '@temporalio/common';
import { CarrierMessageType } from '../../common/carrier';
import { CancelShipmentCommand, type CarrierReply, CreateShipmentCommand } from '../../common/shapes/carrier';
import type { createShipmentActivities } from '../participants/shipments';

/** A command the carrier cannot read: refused, so that the saga fails at once instead of retrying a bug. */
export const InvalidCarrierCommand = 'InvalidCarrierCommand';

export function carrierCommandHandler(shipments: ReturnType<typeof createShipmentActivities>) {
  return async function applyCommand(type: string | undefined, body: unknown): Promise<CarrierReply> {
    try {
      if (type === CarrierMessageType.createShipment) {
        const command = CreateShipmentCommand.safeParse(body);
        if (!command.success) return invalid(type);
        return { outcome: 'done', result: await shipments.createShipment(command.data) };
      }
      if (type === CarrierMessageType.cancelShipment) {
        const command = CancelShipmentCommand.safeParse(body);
        if (!command.success) return invalid(type);
        return { outcome: 'done', result: await shipments.cancelShipment(command.data) };
      }
      return invalid(type);
    } catch (err) {
      if (err instanceof ApplicationFailure && err.nonRetryable && err.type) {
        return { outcome: 'refused', type: err.type, message: err.message };
      }
      throw err;
    }
  };
}

function invalid(type: string | undefined): CarrierReply {
  // The message names the type only: the body may hold an address.
  return { outcome: 'refused', type: InvalidCarrierCommand, message: `not a valid carrier command (type ${type})` };
}

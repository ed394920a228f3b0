/**
 * The carrier's messages over the broker (docs/sagas.md, "The carrier over the broker"): the commands the order saga
 * sends, the replies the carrier sends back. Bodies are JSON; what identifies and routes them is in their AMQP
 * properties (common/carrier.ts). Validated on receipt by both sides.
 */
import { z } from 'zod';
import { ShippingAddress } from './order';

/** `CreateShipment.v1`: create the shipment of an order. Idempotent by `key` (= the message id). */
export const CreateShipmentCommand = z.strictObject({
  key: z.string().min(1),
  orderId: z.string().min(1),
  address: ShippingAddress,
  deliveryDate: z.string().min(1),
});
export type CreateShipmentCommand = z.infer<typeof CreateShipmentCommand>;

/** `CancelShipment.v1`: the compensation, cancel the shipment of `key` (or void it if it never existed). */
export const CancelShipmentCommand = z.strictObject({ key: z.string().min(1) });
export type CancelShipmentCommand = z.infer<typeof CancelShipmentCommand>;

/**
 * `CarrierReply.v1`: `done` with the outcome of the effect (`applied`, `already-applied`, `compensated` for a
 * create; `undone`, `already-undone`, `nothing-to-undo` for a cancel), or `refused` with a business failure type
 * (`ShipmentRejected`) and a message without personal data. A carrier that cannot work (its database is away)
 * does not reply: the saga's attempt times out and sends the command again.
 */
export const CarrierReply = z.discriminatedUnion('outcome', [
  z.strictObject({ outcome: z.literal('done'), result: z.string().min(1) }),
  z.strictObject({ outcome: z.literal('refused'), type: z.string().min(1), message: z.string() }),
]);
export type CarrierReply = z.infer<typeof CarrierReply>;

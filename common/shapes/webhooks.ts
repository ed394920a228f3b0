import { z } from 'zod';
import { DomainEventType } from '../domain-events';
import { Text, Timestamp } from './primitives';

/**
 * Webhook subscriptions and their deliveries (docs/api.md, "Webhooks"; docs/events.md, "Webhooks"). The signing
 * secret is in `WebhookCreated` only: the answer to the creation is the one time it is shown.
 */

/** A domain event type a subscription receives, or `*` for every type (new types too). */
export const WebhookEventType = z.enum(['*', ...Object.values(DomainEventType)]);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** `wh_` and 16 hex digits. */
export const WebhookId = z.string().regex(/^wh_[0-9a-f]{16}$/, 'must be a webhook id (wh_ and 16 hex digits)');

export const CreateWebhook = z.strictObject({
  /**
   * Where events are POSTed. The allowlist and https rule (422) are checked by the handler: they are configuration,
   * which the document cannot state.
   */
  url: z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL')
    .meta({ format: 'uri' }),
  eventTypes: z
    .array(WebhookEventType)
    .min(1, 'must list at least one event type')
    .max(20, 'must list at most 20 event types')
    .refine((types) => new Set(types).size === types.length, 'must not list a type twice')
    .meta({ uniqueItems: true }),
  description: Text(200).optional(),
});
export type CreateWebhook = z.infer<typeof CreateWebhook>;

export const WebhookStatus = z.enum(['active', 'disabled']);

export const Webhook = z.object({
  id: WebhookId,
  url: z.string(),
  eventTypes: z.array(WebhookEventType),
  description: z.string().nullable(),
  status: WebhookStatus,
  /** Why the dispatcher disabled it (its last failures, or a delivery that ran out of retries); null when active. */
  disabledReason: z.string().nullable(),
  disabledAt: Timestamp.nullable(),
  /** Failed attempts since the last successful one, any delivery. */
  consecutiveFailures: z.number().int().min(0),
  createdAt: Timestamp,
});
export type Webhook = z.infer<typeof Webhook>;

/** The answer to `POST /webhooks`: the subscription and its signing secret, shown this once. */
export const WebhookCreated = Webhook.extend({
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9_-]{43}$/)
    .meta({ description: 'The signing secret (HMAC-SHA256 key), shown only in this answer: keep it' }),
});

export const WebhookList = z.object({ items: z.array(Webhook) });

export const DeliveryStatus = z.enum(['pending', 'delivered', 'failed', 'abandoned']);

export const DeliveryAttempt = z.object({
  attempt: z.number().int().min(1),
  at: Timestamp,
  /** The receiver's HTTP status, or null when no answer came (`error` says why). */
  statusCode: z.number().int().nullable(),
  /** Why the attempt failed without an answer, or why the answer counts as a failure; null for a 2xx. */
  error: z.string().nullable(),
  durationMs: z.number().int().min(0),
});

export const WebhookDelivery = z.object({
  /** `<subscriptionId>#<eventId>`. */
  id: z.string(),
  subscriptionId: WebhookId,
  eventId: z.string(),
  eventType: z.string(),
  /**
   * `pending`: to be (re)tried at `nextAttemptAt`; `delivered`: a 2xx came back; `failed`: its retries ran out;
   * `abandoned`: its subscription was deleted before it was delivered.
   */
  status: DeliveryStatus,
  attempts: z.array(DeliveryAttempt),
  nextAttemptAt: Timestamp.nullable(),
  createdAt: Timestamp,
  deliveredAt: Timestamp.nullable(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookDeliveryList = z.object({ items: z.array(WebhookDelivery) });

import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhooks (docs/events.md, "Webhooks"): what the API, the dispatcher and receivers share. The signature scheme,
 * the headers, the delivery id scheme and the URL policy (allowlist, https) are here; the shapes are zod schemas in
 * `shapes/webhooks.ts`.
 */

/** What a subscription's secret is sealed for (codec/secret-box.ts): it opens for that subscription only. */
export const secretPurpose = (subscriptionId: string): string => `webhook-secret:${subscriptionId}`;

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the subscription's secret>` */
export const SIGNATURE_HEADER = 'Saga-Signature';
/** The domain event's id (`<workflowId>#<sequence>`), also `eventId` in the body: receivers dedupe by it. */
export const EVENT_ID_HEADER = 'Saga-Event-Id';
export const EVENT_TYPE_HEADER = 'Saga-Event-Type';
/** `<subscriptionId>#<eventId>`: the same for every attempt of one delivery. */
export const DELIVERY_ID_HEADER = 'Saga-Delivery-Id';
/** 1, 2, 3 … the attempt of this delivery. */
export const DELIVERY_ATTEMPT_HEADER = 'Saga-Delivery-Attempt';

/** How far a signature's timestamp may be from the receiver's clock (the replay window) by default: 5 minutes. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A delivery's id: one per subscription and event, so a fan-out run twice (a redelivered message) creates it once. */
export const webhookDeliveryId = (subscriptionId: string, eventId: string): string => `${subscriptionId}#${eventId}`;

/** The `Saga-Signature` header for `body` (the exact bytes sent) at `timestamp` (unix seconds). */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Checks a `Saga-Signature` header against the raw body received: a `v1` that is the HMAC of `<t>.<body>` (compared
 * in constant time; several `v1` entries are allowed, one must match) and a `t` within `toleranceSeconds` of
 * `now`. For receivers written in TypeScript; docs/events.md has the same in a few lines of node:crypto.
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | undefined,
  { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = Date.now() }: { toleranceSeconds?: number; now?: number } = {},
): SignatureCheck {
  if (!header) return { ok: false, reason: `no ${SIGNATURE_HEADER} header` };
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string?]);
  const t = parts.find(([k]) => k === 't')?.[1];
  const signatures = parts.filter(([k, v]) => k === 'v1' && v !== undefined).map(([, v]) => v!);
  if (!t || !/^[0-9]{1,12}$/.test(t) || signatures.length === 0) return { ok: false, reason: 'malformed signature' };
  const timestamp = Number(t);
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) {
    return { ok: false, reason: 'timestamp outside the tolerance (a replay, or a clock off)' };
  }
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex'), 'utf8');
  const matches = signatures.some((s) => {
    const given = Buffer.from(s, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'signature does not match' };
}

/** Host names that mean this machine: the only ones a webhook may reach over plain http, and only if allowlisted. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
export const isLoopbackName = (host: string): boolean => LOOPBACK_NAMES.has(host.toLowerCase());

/**
 * Whether `host` is allowed by the allowlist (WEBHOOK_ALLOWED_HOSTS): an entry is a host name (`hooks.example.com`,
 * matched exactly, case-insensitively) or `*.example.com` (any host under it, not `example.com` itself).
 */
export function hostAllowed(host: string, allowlist: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowlist.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? h.endsWith(e.slice(1)) && h.length > e.length - 1 : h === e;
  });
}

/**
 * Why `url` may not be a webhook target, or undefined when it may: an absolute https URL (http only for an
 * allowlisted `localhost`, `127.0.0.1` or `[::1]`) without credentials or fragment, whose host is on the allowlist.
 * The address a name resolves to is checked at each delivery (webhooks/address-guard.ts), not here: DNS can change.
 */
export function webhookUrlProblem(url: string, allowlist: readonly string[]): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an https URL';
  if (parsed.username || parsed.password) return 'must not carry a user name or password';
  if (parsed.hash) return 'must not have a fragment';
  const host = parsed.hostname;
  if (!hostAllowed(host, allowlist)) {
    return `host '${host}' is not in the webhook allowlist (WEBHOOK_ALLOWED_HOSTS)`;
  }
  if (parsed.protocol === 'http:' && !isLoopbackName(host)) return 'must be an https URL';
  return undefined;
}

import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * Named timeout and retry presets, each set on purpose.
 *
 * A participant call is a few single-document writes: 10 s is ample, and an attempt that takes
 * longer is presumed lost and retried (idempotency makes that safe). Infrastructure failures retry
 * with backoff for about a minute before the step counts as failed and the saga compensates.
 * Business failures are non-retryable and skip all of this.
 */
export const participantCall = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 8 },
} as const satisfies ActivityOptions;

/**
 * `participantCall` for a participant call run as a local activity (inside the worker that runs the
 * workflow task, no schedule/poll/complete round trip through the server): the same timeout and the
 * same retries, so a step fails, retries and compensates exactly as it does as a regular activity.
 * The backoff stays under the SDK's `localRetryThreshold` (1 min), so retries happen in the worker
 * without timers.
 */
export const localParticipantCall = {
  startToCloseTimeout: participantCall.startToCloseTimeout,
  retry: participantCall.retry,
} as const satisfies LocalActivityOptions;

/**
 * Compensations must not give up lightly: they retry for about three minutes, then the saga is
 * marked `FAILED` with the compensation named and waits for an operator's `retryCompensation`.
 */
export const compensationCall = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
} as const satisfies ActivityOptions;

/**
 * For effects that must happen eventually and have no business failure to stop them (granting an
 * earned discount, telling the loyalty workflow an order completed): retry without a limit, backing off
 * to one attempt a minute, so an outage delays them but never loses them.
 */
export const untilDoneCall = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
} as const satisfies ActivityOptions;

/**
 * `untilDoneCall` as a local activity: the call a completed saga makes in its last workflow task (the loyalty
 * notification since `patched('loyalty-in-task')`). The same unlimited retries; past the SDK's one-minute local
 * retry threshold the backoff runs on timers, so an outage of a minute or more costs workflow tasks, not a lost call.
 */
export const localUntilDoneCall = {
  startToCloseTimeout: untilDoneCall.startToCloseTimeout,
  retry: untilDoneCall.retry,
} as const satisfies LocalActivityOptions;

/**
 * Appending a saga's domain events (a local activity: a few inserts ignoring duplicates, run inside the workflow
 * task). It must not give up: a transition that happened must reach the stream, so it retries without a limit,
 * backing off to 10 s (under the SDK's one-minute local retry threshold: retries stay in the worker, no timers).
 */
export const domainEventsCall = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
} as const satisfies LocalActivityOptions;

/**
 * Reading the worker's configuration at a saga's start (`chooseCarrier`, a local activity): it reads memory and
 * cannot fail for a business reason, so it retries without a limit (a worker without the activity, mid-deploy).
 */
export const configurationCall = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
} as const satisfies LocalActivityOptions;

/** What a saga recorded of the broker carrier's settings at its start (common/carrier.ts `CarrierChoice`). */
interface CarrierSettings {
  replyTimeoutSeconds: number;
  attempts: number;
}

/**
 * A command to the carrier over the broker, completed asynchronously by its reply: each attempt waits for the
 * reply for the recorded timeout (CARRIER_REPLY_TIMEOUT_SECONDS), then the command is sent again, up to the
 * recorded attempts (CARRIER_REPLY_ATTEMPTS); then the step counts as failed (Timeout) and the saga compensates.
 */
export function carrierCommandCall({ replyTimeoutSeconds, attempts }: CarrierSettings): ActivityOptions {
  return {
    startToCloseTimeout: `${replyTimeoutSeconds}s`,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: attempts },
  };
}

/** `cancelShipment` by command: the compensation preset's retries, each attempt waiting the reply timeout. */
export function carrierCompensationCall({ replyTimeoutSeconds }: CarrierSettings): ActivityOptions {
  return { startToCloseTimeout: `${replyTimeoutSeconds}s`, retry: compensationCall.retry };
}

/**
 * The presets a saga definition names (`workflows/saga/definition.ts`): per preset, the options of a regular
 * activity and, where the preset allows it, of a local one. A definition's `mode: 'local'` is only accepted (types
 * and validation) with a preset that has a `local` entry.
 */
export const callPresets = {
  participant: { regular: participantCall, local: localParticipantCall },
  compensation: { regular: compensationCall },
  untilDone: { regular: untilDoneCall, local: localUntilDoneCall },
} as const;
export type CallPreset = keyof typeof callPresets;
/** Presets that can run a call as a local activity. */
export type LocalCallPreset = {
  [P in CallPreset]: 'local' extends keyof (typeof callPresets)[P] ? P : never;
}[CallPreset];

import type { Db } from 'mongodb';
import { secretBox } from '../codec/secret-box';
import type { Config } from '../common/config';
import type { DispatcherOptions } from '../webhooks/dispatcher';
import type { Logger } from './logging';

/** The webhook dispatcher's options from the configuration (WEBHOOK_*; README, "Configuration"). */
export function dispatcherOptionsFromConfig(config: Config, db: Db, logger: Logger): DispatcherOptions {
  return {
    db,
    logger,
    secrets: secretBox(config.payloadKeyRing),
    schedule: {
      baseMs: config.WEBHOOK_RETRY_BASE_SECONDS * 1000,
      maxDelayMs: config.WEBHOOK_RETRY_MAX_DELAY_SECONDS * 1000,
      horizonMs: config.WEBHOOK_RETRY_HORIZON_SECONDS * 1000,
    },
    timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
    disableAfterFailures: config.WEBHOOK_DISABLE_AFTER_FAILURES,
    pollMs: config.WEBHOOK_POLL_SECONDS * 1000,
  };
}

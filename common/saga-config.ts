/**
 * The stored saga configuration as the sagas read it (docs/sagas.md, "Stored configuration"): the start choice's
 * name and patch, and what it records. Free of zod (the workflows import it); the schema is in `shapes/saga-config.ts`.
 */
import type { SagaConfig } from './shapes/saga-config';

export type { PresetSettings, RetrySettings, SagaConfig, StepSettings, WaitSettings } from './shapes/saga-config';

/** Patch id: a saga reads its type's stored configuration at its start (`readSagaConfig`). */
export const SAGA_CONFIG_PATCH = 'saga-config';
/** The start choice's name (`ctx.choices.config`). */
export const SAGA_CONFIG_CHOICE = 'config';

/** What a saga recorded at its start: the latest stored version of its type, or none (`version: null`). */
export interface SagaConfigChoice {
  version: number | null;
  config: SagaConfig | null;
}

/** What a saga started before the patch, or with nothing stored, runs with: the definition's own settings. */
export const noSagaConfig: SagaConfigChoice = { version: null, config: null };

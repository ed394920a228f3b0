/**
 * The saga type's stored configuration (docs/sagas.md, "Stored configuration") as the interpreter applies it: the
 * `config` start choice that reads it once, at the saga's start (`readSagaConfig`, a local activity behind
 * `patched('saga-config')`), and the options a call runs with under it. Deterministic: it only reads what the saga
 * recorded.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import type { ActivityOptions } from '@temporalio/workflow';
import type { SagaType } from '../../common/domain-events';
import {
  noSagaConfig,
  SAGA_CONFIG_CHOICE,
  SAGA_CONFIG_PATCH,
  type PresetSettings,
  type SagaConfigChoice,
  type StepSettings,
} from '../../common/saga-config';
import type { StartChoice } from './definition';

/** The start choice every definition lists after its others: its type's latest stored configuration. */
export function sagaConfigChoice(sagaType: SagaType): StartChoice {
  return {
    name: SAGA_CONFIG_CHOICE,
    activity: 'readSagaConfig',
    args: [{ sagaType }],
    patch: SAGA_CONFIG_PATCH,
    fallback: noSagaConfig,
    description: `the stored configuration of ${sagaType} sagas (its latest version): call modes, timeouts, retries`,
  };
}

/** What the saga recorded (sagas of a definition without the choice: nothing). */
export function recordedConfig(choices: Readonly<Record<string, unknown>>): SagaConfigChoice {
  return (choices[SAGA_CONFIG_CHOICE] as SagaConfigChoice | undefined) ?? noSagaConfig;
}

/** A step's (or parallel group's) settings, if any are stored. */
export function stepSettings(recorded: SagaConfigChoice, step: string): StepSettings | undefined {
  const settings = recorded.config?.steps?.[step];
  return settings && 'mode' in settings ? settings : undefined;
}

/** A wait's stored deadline, in ms, if any. */
export function waitDeadlineMs(recorded: SagaConfigChoice, wait: string): number | undefined {
  const settings = recorded.config?.steps?.[wait];
  return settings && 'deadlineSeconds' in settings ? settings.deadlineSeconds * 1000 : undefined;
}

/** A preset's stored settings, if any. */
export function presetSettings(recorded: SagaConfigChoice, preset: string): PresetSettings | undefined {
  return recorded.config?.presets?.[preset];
}

type Layer = Pick<PresetSettings, 'startToCloseTimeoutMs' | 'retry'> | undefined;

/**
 * `base` (a preset's options for the call's mode) with the layers over it, the last winning field by field: the
 * preset's stored settings, then the step's. A maximum interval below the initial interval counts as the initial
 * interval (Temporal refuses the pair).
 */
export function withSettings<T extends ActivityOptions>(base: T, ...layers: Layer[]): T {
  if (layers.every((layer) => layer === undefined)) return base;
  const retry = { ...base.retry };
  let startToCloseTimeout = base.startToCloseTimeout;
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.startToCloseTimeoutMs !== undefined) startToCloseTimeout = layer.startToCloseTimeoutMs;
    const r = layer.retry;
    if (r?.maximumAttempts !== undefined) retry.maximumAttempts = r.maximumAttempts;
    if (r?.initialIntervalMs !== undefined) retry.initialInterval = r.initialIntervalMs;
    if (r?.maximumIntervalMs !== undefined) retry.maximumInterval = r.maximumIntervalMs;
    if (r?.backoffCoefficient !== undefined) retry.backoffCoefficient = r.backoffCoefficient;
  }
  const initial = retry.initialInterval === undefined ? undefined : msToNumber(retry.initialInterval);
  if (initial !== undefined && retry.maximumInterval !== undefined && msToNumber(retry.maximumInterval) < initial) {
    retry.maximumInterval = initial;
  }
  return { ...base, startToCloseTimeout, retry };
}

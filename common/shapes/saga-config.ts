import { z } from 'zod';
import { Timestamp } from './primitives';

/**
 * A saga type's stored configuration (docs/sagas.md, "Stored configuration"): the runtime settings an operator
 * changes without a deploy, read by each saga once, at its start (the `config` start choice), so that it runs and
 * replays with the version it read. Its schema is built per saga type from the definition's structure
 * (`sagaConfigSchema`, fed by api/sagas/catalogue.ts): only the steps and presets the definition has, only the
 * settings each accepts, every number bounded, every unknown field refused. Units are in the names.
 */

const Ms = (min: number, max: number) =>
  z
    .number()
    .int('must be a whole number of milliseconds')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/** Retries of a call: any of Temporal's retry policy fields, each within sane bounds. */
export const RetrySettings = z.strictObject({
  maximumAttempts: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000).optional(),
  initialIntervalMs: Ms(10, 3_600_000).optional(),
  /** Below the (configured or preset) initial interval it counts as the initial interval. */
  maximumIntervalMs: Ms(10, 3_600_000).optional(),
  backoffCoefficient: z.number().min(1, 'must be at least 1').max(10, 'must be at most 10').optional(),
});
export type RetrySettings = z.infer<typeof RetrySettings>;

/** What can be set on a preset, and on one step over its preset. */
const timing = {
  /** One attempt's start-to-close timeout (1 h at most: a participant call is a few writes). */
  startToCloseTimeoutMs: Ms(100, 3_600_000).optional(),
  retry: RetrySettings.optional(),
};

export const PresetSettings = z.strictObject(timing);
export type PresetSettings = z.infer<typeof PresetSettings>;

/** One step (or parallel group) over its definition: its call mode, a preset, its own timeout and retries. */
export interface StepSettings {
  mode: 'local' | 'regular';
  preset?: string | undefined;
  startToCloseTimeoutMs?: number | undefined;
  retry?: RetrySettings | undefined;
}
/** An approval wait: the deadline a saga gets when its input names none. */
export interface WaitSettings {
  deadlineSeconds: number;
}

/** The configuration as stored and as a saga reads it (whatever its type: the steps are by name). */
export interface SagaConfig {
  presets?: Record<string, PresetSettings | undefined> | undefined;
  steps?: Record<string, StepSettings | WaitSettings | undefined> | undefined;
}

/** What a saga type's configuration schema is built from: its definition's structure. */
export interface SagaConfigShape {
  /** Each step, parallel group and wait, with the preset a step's call names. */
  nodes: readonly ({ name: string; type: 'step' | 'parallel'; preset: string } | { name: string; type: 'wait' })[];
  /** The presets its steps and compensations name. */
  presets: readonly string[];
  /** The presets that have a local variant (a step may run locally only with one of them). */
  localPresets: readonly string[];
}

const enumOf = (values: readonly string[]) => z.enum(values as [string, ...string[]]);

/** The schema of one saga type's configuration: `{ presets?, steps? }`, keyed by its own presets and steps. */
export function sagaConfigSchema(shape: SagaConfigShape): z.ZodType<SagaConfig> {
  const presets = z.strictObject(Object.fromEntries(shape.presets.map((p) => [p, PresetSettings.optional()])));
  const steps = z.strictObject(
    Object.fromEntries(
      shape.nodes.map((node) => {
        if (node.type === 'wait') {
          const wait = z.strictObject({
            deadlineSeconds: z
              .number()
              .int('must be a whole number of seconds')
              .min(1, 'must be at least 1')
              .max(30 * 86_400, 'must be at most 2592000 (30 days)'),
          });
          return [node.name, wait.optional()];
        }
        // Local only with a preset that has a local variant: the step's own, unless it names another.
        const local = z.strictObject({
          mode: z.literal('local'),
          preset: shape.localPresets.includes(node.preset)
            ? enumOf(shape.localPresets).optional()
            : enumOf(shape.localPresets),
          ...timing,
        });
        const regular = z.strictObject({
          mode: z.literal('regular'),
          preset: enumOf(shape.presets).optional(),
          ...timing,
        });
        return [node.name, z.discriminatedUnion('mode', [local, regular]).optional()];
      }),
    ),
  );
  return z.strictObject({ presets: presets.optional(), steps: steps.optional() }) as z.ZodType<SagaConfig>;
}

/** Who stored a version: the API's principal, or the CLI's user. */
export const ConfigAuthor = z.object({
  by: z.string(),
  byKind: z.enum(['api-key', 'jwt', 'anonymous', 'cli']),
});
export type ConfigAuthor = z.infer<typeof ConfigAuthor>;

/** One stored version of a saga type's configuration (`config`: its schema), as the API and the CLI show it. */
export const sagaConfigVersion = (sagaType: string, config: z.ZodType) =>
  z.object({
    sagaType: z.literal(sagaType),
    /** 1, 2, 3 … per saga type, without gaps; every put is a new version, none is ever changed. */
    version: z.number().int().min(1),
    config,
    createdAt: Timestamp,
    createdBy: ConfigAuthor,
  });

/** Every stored version of a saga type, newest first. */
export const sagaConfigHistory = (sagaType: string, config: z.ZodType) =>
  z.object({ items: z.array(sagaConfigVersion(sagaType, config)) });

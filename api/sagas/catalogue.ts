/**
 * The saga catalogue: every saga definition (`workflows/definitions/`, plain TypeScript that the workflow bundle
 * carries) joined, by saga type, to the zod schema of its input (`common/shapes/`, which the bundle must not carry).
 * The join is checked at build: a definition's input type must be exactly `z.infer` of its schema, so the workflow
 * and its validated input cannot drift apart. The tooling reads it (`npm run saga -- describe`); the generic saga API
 * (issue 16 part 2: `GET /sagas`, `POST /sagas/{type}` validated by `input`, the OpenAPI document with each type's
 * schema) is generated from it.
 */
import type { z } from 'zod';
import type { SagaType } from '../../common/domain-events';
import { OrderSagaInput } from '../../common/shapes/order';
import { sagaConfigSchema, type SagaConfig, type SagaConfigShape } from '../../common/shapes/saga-config';
import { TransportOrderInput } from '../../common/shapes/transport';
import { sagaDefinitions } from '../../workflows/definitions';
import type { InputOf, SagaDefinition } from '../../workflows/saga/definition';
import { callPresets } from '../../workflows/saga/policies';

/** True when `A` and `B` are the same type. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export interface CatalogueEntry<D extends SagaDefinition<never> = SagaDefinition<never>> {
  definition: D;
  input: z.ZodType;
  /** Its stored configuration's schema (`PUT /saga-config/<type>`, `npm run saga-config`), built from the definition. */
  config: z.ZodType<SagaConfig>;
}

/**
 * What a definition's configuration may set: its steps, parallel groups and waits by name, and the presets its
 * steps and compensations name (not the call after completion's: retried until done by design).
 */
export function configShape(definition: SagaDefinition<never>): SagaConfigShape {
  const presets = new Set<string>();
  const nodes = definition.nodes.map((node) => {
    if (node.type === 'wait') return { name: node.name, type: 'wait' as const };
    presets.add(node.call.preset);
    if (node.compensation) presets.add(node.compensation.preset);
    return { name: node.name, type: node.type, preset: node.call.preset };
  });
  const localPresets = Object.entries(callPresets)
    .filter(([, variants]) => 'local' in variants)
    .map(([name]) => name);
  return { nodes, presets: [...presets], localPresets };
}

/** A definition and its input schema; refused at build unless `z.infer` of the schema is the definition's input. */
export function entry<D extends SagaDefinition<never>, Z extends z.ZodType>(
  definition: D,
  input: Z & (Same<z.infer<Z>, InputOf<D>> extends true ? unknown : { refused: "the schema's type is not the input" }),
): CatalogueEntry<D> {
  return { definition, input, config: sagaConfigSchema(configShape(definition)) };
}

export const sagaCatalogue = {
  order: entry(sagaDefinitions.order, OrderSagaInput),
  'transport-order': entry(sagaDefinitions['transport-order'], TransportOrderInput),
} as const satisfies Record<SagaType, CatalogueEntry>;

export const sagaTypes = Object.keys(sagaCatalogue) as SagaType[];

export function isSagaType(name: string): name is SagaType {
  return Object.hasOwn(sagaCatalogue, name);
}

/**
 * The compensation plan of one saga (`GET /sagas/{type}/{orderId}/plan`, docs/api.md): from its state (its
 * `getState` query, or the read model's view) and its definition's step kinds, which compensations would run now,
 * in which order, and which started steps nothing undoes. Pure: the route reads the state, this decides.
 *
 * It follows the one compensation engine (workflows/saga/compensation-stack.ts): a step's compensation is pushed
 * before the step runs, so every started step that has one and is not compensated yet is on the stack, whatever
 * its status (a FAILED or RUNNING step too); they run last pushed first, a parallel group's members in reverse of
 * the order they were pushed; a compensation that keeps failing stays on top and the saga waits there (FAILED).
 */
import { SagaStatus, StepStatus } from '../../common/saga-state';
import type { SagaType } from '../../common/domain-events';
import type { SagaDefinition, SagaNode, StepKind } from '../../workflows/saga/definition';
import type { CompensationPlan } from '../schemas-sagas';

/** What the plan reads of a state: the saga's state and its read-model view both have it. */
export interface PlanInput {
  orderId: string;
  status: SagaStatus;
  steps: readonly { name: string; status: StepStatus; compensation: string | null }[];
  compensationFailure: { step: string; compensation: string } | null;
}

interface NodeOfStep {
  kind: StepKind | 'wait';
  group: string | null;
}

/** Finds the definition's node a state's step belongs to: a step or wait by its name, a group's member by its pattern. */
function nodeFinder(nodes: readonly SagaNode[]): (step: string) => NodeOfStep | undefined {
  const byName = new Map<string, NodeOfStep>();
  const groups: { prefix: string; suffix: string; node: NodeOfStep }[] = [];
  for (const node of nodes) {
    if (node.type === 'wait') byName.set(node.name, { kind: 'wait', group: null });
    else if (node.type === 'step') byName.set(node.name, { kind: node.kind, group: null });
    else {
      const marker = '\u0000';
      const [prefix = '', suffix = ''] = node.member(marker).split(marker);
      groups.push({ prefix, suffix, node: { kind: node.kind, group: node.name } });
    }
  }
  return (step) =>
    byName.get(step) ??
    groups.find(
      ({ prefix, suffix }) =>
        step.length > prefix.length + suffix.length && step.startsWith(prefix) && step.endsWith(suffix),
    )?.node;
}

const finished: readonly SagaStatus[] = [SagaStatus.COMPLETED, SagaStatus.COMPENSATED];

export function compensationPlan(
  sagaType: SagaType,
  definition: SagaDefinition<never>,
  state: PlanInput,
): CompensationPlan {
  const nodeOf = nodeFinder(definition.nodes);
  const pending = finished.includes(state.status)
    ? []
    : state.steps.filter((s) => s.compensation !== null && s.status !== StepStatus.COMPENSATED);
  const compensations = [...pending].reverse().map((s) => ({
    step: s.name,
    compensation: s.compensation ?? '',
    stepStatus: s.status,
    group: nodeOf(s.name)?.group ?? null,
  }));
  const cannotUndo = state.steps.flatMap((s) => {
    if (s.compensation !== null || s.status !== StepStatus.COMPLETED) return [];
    const kind = nodeOf(s.name)?.kind ?? 'read'; // a step the definition does not know that has nothing to undo
    if (kind === 'compensatable') return []; // never without a compensation (the builder refuses it)
    return [{ step: s.name, kind, stepStatus: s.status, reason: kind }];
  });
  const compensated = state.steps
    .filter((s) => s.compensation !== null && s.status === StepStatus.COMPENSATED)
    .reverse()
    .map((s) => ({ step: s.name, compensation: s.compensation ?? '' }));
  const failure = state.status === SagaStatus.FAILED ? state.compensationFailure : null;
  return {
    sagaType,
    orderId: state.orderId,
    status: state.status,
    compensations,
    waitingOn: failure ? { step: failure.step, compensation: failure.compensation } : null,
    cannotUndo,
    compensated,
  };
}

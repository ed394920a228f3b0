/**
 * The rules every saga definition must keep, checked at run time on the definition object (the builder checks the
 * same at build time: `workflows/saga/definition.ts`; this catches what bypasses the types, and `npm test` runs it
 * over every definition in `test/workflows/definitions.test.ts`). Not bundled with the workflows.
 *
 * - names are unique (steps, parallel groups, waits);
 * - a compensatable step (or parallel group) has a compensation; any other kind has none;
 * - at most one pivot, and after the pivot or a retriable step no compensatable step, no parallel group, no wait,
 *   and no read whose activity declares a business failure (nothing before can be undone any more, so nothing
 *   there may fail with a business failure);
 * - a retriable step never fails with a business failure: its activity declares none in `ParticipantFailures`
 *   (common/failures.ts, the one declaration, which the activities' throws are checked against); neither do
 *   compensations nor the call after completion;
 * - every activity named is a declared activity; a local call names a preset with a local variant;
 * - a step's call variant declares no failure its step's call does not, and compensates only a compensatable step;
 * - `onCancelled.refundStep` names a compensatable step of the definition.
 */
import { ParticipantFailures, type ParticipantName } from '../../common/failures';
import { callPresets } from '../saga/policies';
import type { CallNode, CompensationNode, SagaDefinition, SagaNode } from '../saga/definition';

const isActivity = (name: string): name is ParticipantName => Object.hasOwn(ParticipantFailures, name);

/** The business failures an activity declares (unknown activity: null). */
export function declaredFailures(activity: string): readonly string[] | null {
  return isActivity(activity) ? ParticipantFailures[activity] : null;
}

/** Every rule the definition breaks, one line each; empty when it keeps them all. */
export function validateDefinition(definition: SagaDefinition<never>): string[] {
  const problems: string[] = [];
  const problem = (where: string, message: string) => problems.push(`${definition.name}: ${where}: ${message}`);

  const checkCall = (where: string, call: CallNode) => {
    if (!isActivity(call.activity)) problem(where, `calls ${String(call.activity)}, which is not a declared activity`);
    if (call.mode === 'local' && !('local' in callPresets[call.preset])) {
      problem(where, `a local call with preset ${call.preset}, which has no local variant`);
    }
  };
  const infallible = (where: string, activity: string, what: string) => {
    const failures = declaredFailures(activity);
    if (failures === null) problem(where, `${what} ${activity} is not a declared activity`);
    else if (failures.length > 0) {
      problem(where, `${what} ${activity} declares business failures (${failures.join(', ')}); it must declare none`);
    }
  };
  const checkCompensation = (node: SagaNode & { compensation?: CompensationNode }) => {
    if (node.type === 'wait') return;
    if (node.kind === 'compensatable' && !node.compensation)
      problem(node.name, 'a compensatable step without a compensation');
    if (node.kind !== 'compensatable' && node.compensation)
      problem(node.name, `a ${node.kind} step with a compensation`);
    if (node.compensation) infallible(node.name, node.compensation.activity, 'its compensation');
  };

  const seen = new Set<string>();
  let closedBy: string | null = null; // the pivot or retriable step after which nothing may fail or be undone
  for (const node of definition.nodes) {
    if (seen.has(node.name)) problem(node.name, 'the name is used twice');
    seen.add(node.name);
    if (node.type === 'wait') {
      if (closedBy) problem(node.name, `a wait after ${closedBy}: a rejection there could not be undone`);
      continue;
    }
    checkCall(node.name, node.call);
    checkCompensation(node);
    for (const variant of node.type === 'step' ? (node.variants ?? []) : []) {
      const where = `${node.name} (variant ${variant.name})`;
      const failures = declaredFailures(variant.call.activity);
      const allowed = declaredFailures(node.call.activity) ?? [];
      if (failures === null) problem(where, `calls ${variant.call.activity}, which is not a declared activity`);
      else if (failures.some((f) => !allowed.includes(f))) {
        problem(where, `${variant.call.activity} declares failures its step's ${node.call.activity} does not`);
      }
      if (variant.compensation && !node.compensation) problem(where, 'a compensation for a step that has none');
      if (variant.compensation) infallible(where, variant.compensation.activity, 'its compensation');
    }
    if (node.type === 'parallel') {
      if (node.kind !== 'compensatable' && node.kind !== 'read')
        problem(node.name, `a parallel group of ${node.kind} steps`);
      if (closedBy) problem(node.name, `a parallel group after ${closedBy}`);
      continue;
    }
    if (closedBy && node.kind === 'compensatable') problem(node.name, `a compensatable step after ${closedBy}`);
    if (closedBy && node.kind === 'pivot') problem(node.name, `a second pivot, after ${closedBy}`);
    if (node.kind === 'retriable') infallible(node.name, node.call.activity, 'a retriable step, but its activity');
    else if (closedBy && node.kind === 'read')
      infallible(node.name, node.call.activity, `a read after ${closedBy}, but its activity`);
    if (!closedBy && (node.kind === 'pivot' || node.kind === 'retriable')) closedBy = `the ${node.kind} ${node.name}`;
  }
  const refundStep = definition.onCancelled?.refundStep;
  if (refundStep !== undefined) {
    const refunded = definition.nodes.find((n) => n.name === refundStep);
    if (!refunded || refunded.type !== 'step' || refunded.kind !== 'compensatable') {
      problem('onCancelled', `its refundStep ${refundStep} is not a compensatable step of the saga`);
    }
  }
  if (definition.afterCompleted) {
    infallible('afterCompleted', definition.afterCompleted.activity, 'the call after completion');
    const { inTaskPatch, preset } = definition.afterCompleted;
    if (inTaskPatch !== undefined && !('local' in callPresets[preset])) {
      problem('afterCompleted', `runs in the last workflow task, but its preset ${preset} has no local variant`);
    }
  }
  return problems;
}

/**
 * A saga definition as data (JSON: what `npm run saga -- describe <type> --json` prints, and what the generic API's
 * catalogue will serve, issue 16 part 2) and as a Mermaid flowchart (`--mermaid`, embedded in docs/sagas.md). Both
 * read only the definition's structure (names, kinds, activities, modes, presets), never call its functions. Not
 * bundled with the workflows.
 */
import type { CallNode, CompensationNode, SagaDefinition, SagaNode, StepKind } from '../saga/definition';
import { ApprovalFailures } from '../saga/definition';
import { declaredFailures } from './validate';
import { defaultCompensationPolicy, type CompensationPolicy } from '../../common/saga-state';

export interface DescribedCall {
  activity: string;
  mode: string;
  preset: string;
  /** The business failures its activity declares (common/failures.ts `ParticipantFailures`). */
  failures: string[];
}
export interface DescribedCompensation {
  activity: string;
  preset: string;
}
export type DescribedNode =
  | {
      type: 'step';
      name: string;
      kind: StepKind;
      call: DescribedCall;
      compensation: DescribedCompensation | null;
      /** Other ways to make the call, chosen per saga at its start (`choices`): the broker carrier. */
      variants: { name: string; activity: string; compensation: string | null }[];
    }
  | {
      type: 'parallel';
      name: string;
      /** What the group iterates: one member step per item, all started at once, joined. */
      over: string;
      /** A member's step name, `<item>` standing for the item. */
      member: string;
      kind: StepKind;
      call: DescribedCall;
      compensation: DescribedCompensation | null;
    }
  | {
      type: 'wait';
      name: string;
      wait: 'approval';
      update: 'decide';
      signals: ['approve', 'reject'];
      failures: string[];
    };

export interface DescribedSaga {
  name: string;
  version: number;
  workflowType: string;
  description: string;
  /**
   * How it compensates (`SagaHeader.compensation`; default sequential and stop): one by one, last started first, or
   * all at once; on a compensation that keeps failing, wait for the operator there, or go on and wait for them on
   * every failure at the end.
   */
  compensation: CompensationPolicy;
  /** What each saga fixes at its start and records (a local activity), before its first step. */
  choices: { name: string; activity: string; patch: string; description: string }[];
  steps: DescribedNode[];
  outcome: {
    completed: 'COMPLETED';
    afterCompleted: { activity: string; preset: string; patch: string | null } | null;
    compensated: 'COMPENSATED';
    /** What it reports once compensated (`onCancelled`): the domain event and the step whose undo is the refund. */
    onCancelled: { event: string; refundStep: string | null } | null;
    /** A compensation that keeps failing: the saga waits for an operator (retryCompensation or skipCompensation). */
    compensationFailed: 'FAILED';
  };
  patches: { localCalls: string | null; afterCompleted: string | null };
}

const call = ({ activity, mode, preset }: CallNode): DescribedCall => ({
  activity,
  mode,
  preset,
  failures: [...(declaredFailures(activity) ?? [])],
});
const compensation = (c: CompensationNode | undefined): DescribedCompensation | null =>
  c ? { activity: c.activity, preset: c.preset } : null;

function describeNode(node: SagaNode): DescribedNode {
  switch (node.type) {
    case 'step':
      return {
        type: 'step',
        name: node.name,
        kind: node.kind,
        call: call(node.call),
        compensation: compensation(node.compensation),
        variants: (node.variants ?? []).map((v) => ({
          name: v.name,
          activity: v.call.activity,
          compensation: v.compensation?.activity ?? null,
        })),
      };
    case 'parallel':
      return {
        type: 'parallel',
        name: node.name,
        over: node.over,
        member: node.member('<item>'),
        kind: node.kind,
        call: call(node.call),
        compensation: compensation(node.compensation),
      };
    case 'wait':
      return {
        type: 'wait',
        name: node.name,
        wait: node.wait,
        update: 'decide',
        signals: ['approve', 'reject'],
        failures: [...ApprovalFailures],
      };
  }
}

export function describeDefinition(definition: SagaDefinition<never>): DescribedSaga {
  const after = definition.afterCompleted;
  return {
    name: definition.name,
    version: definition.version,
    workflowType: definition.workflowType,
    description: definition.description,
    compensation: { ...(definition.compensation ?? defaultCompensationPolicy) },
    choices: (definition.choices ?? []).map(({ name, activity, patch, description }) => ({
      name,
      activity,
      patch,
      description,
    })),
    steps: definition.nodes.map(describeNode),
    outcome: {
      completed: 'COMPLETED',
      afterCompleted: after ? { activity: after.activity, preset: after.preset, patch: after.patch ?? null } : null,
      compensated: 'COMPENSATED',
      onCancelled: definition.onCancelled
        ? { event: definition.onCancelled.event, refundStep: definition.onCancelled.refundStep ?? null }
        : null,
      compensationFailed: 'FAILED',
    },
    patches: { localCalls: definition.localCallsPatch ?? null, afterCompleted: after?.patch ?? null },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Mermaid
// ---------------------------------------------------------------------------------------------------------------

const id = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
const text = (s: string) => s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');

/**
 * The definition as a Mermaid flowchart: the steps top to bottom (their kind, activity and call mode), a parallel
 * group as a subgraph, a wait as a hexagon, the pivot and retriable steps marked; beside them the compensations
 * chained in the order they run (last started first) down to COMPENSATED, and from each step where compensation
 * starts when it fails or the saga is cancelled while it runs (its own compensation, pushed before it ran, or the
 * previous step's). A policy other than the default shows in the start node: `parallel` forks every compensation
 * from one node, `continue` labels the edges a failed compensation goes on by.
 */
export function toMermaid(definition: SagaDefinition<never>): string {
  const d = describeDefinition(definition);
  const { order, onFailure } = d.compensation;
  const policy = order === 'sequential' && onFailure === 'stop' ? '' : `<br/>compensation: ${order}, ${onFailure}`;
  const lines = ['flowchart TD', `  start(["${text(`${d.name} v${d.version} (${d.workflowType})`)}${policy}"])`];
  const undoChain: { node: string; label: string }[] = []; // in the order pushed
  const failEdges: string[] = [];
  let previous = 'start';
  let lastUndo: string | null = null; // where compensation starts if the current step fails
  let closed = false;

  /** A step's label: its name, kind and call mode, the activity when it has another name, what it can fail with. */
  const label = (name: string, kind: StepKind, c: DescribedCall) =>
    [
      text(name),
      `<i>${kind}</i> · ${c.mode}`,
      ...(c.activity === name ? [] : [`calls ${text(c.activity)}`]),
      ...(c.failures.length ? [`fails: ${c.failures.join(', ')}`] : []),
    ].join('<br/>');
  for (const node of d.steps) {
    if (node.type === 'step') {
      const n = id('s', node.name);
      const variants = node.variants.map((v) => `<br/>${text(v.name)}: calls ${text(v.activity)}`).join('');
      lines.push(`  ${n}["${label(node.name, node.kind, node.call)}${variants}"]:::${node.kind}`);
      lines.push(`  ${previous} --> ${n}`);
      if (node.compensation) {
        const u = id('u', node.name);
        undoChain.push({ node: u, label: `↺ ${node.compensation.activity}` });
        lastUndo = u;
      }
      // After the pivot nothing fails with a business failure (validate.ts): those steps retry until they succeed.
      if (!closed) failEdges.push(`  ${n} -.->|"fails or cancelled"| ${lastUndo ?? 'compensated'}`);
      if (node.kind === 'pivot' || node.kind === 'retriable') closed = true;
      previous = n;
    } else if (node.type === 'parallel') {
      const g = id('g', node.name);
      const n = id('s', node.name);
      lines.push(`  subgraph ${g}["${text(`${node.name}: one step per ${node.over}, in parallel, joined`)}"]`);
      lines.push(`    ${n}["${label(node.member, node.kind, node.call)}"]:::${node.kind}`);
      lines.push('  end');
      lines.push(`  ${previous} --> ${g}`);
      if (node.compensation) {
        const u = id('u', node.name);
        undoChain.push({ node: u, label: `↺ ${node.compensation.activity} × ${node.over}, last pushed first` });
        lastUndo = u;
      }
      failEdges.push(`  ${g} -.->|"one fails (all joined first) or cancelled"| ${lastUndo ?? 'compensated'}`);
      previous = g;
    } else {
      const n = id('w', node.name);
      lines.push(
        `  ${n}{{"${text(node.name)}<br/><i>approval until a deadline</i><br/>${node.update} update · ${node.signals.join(' / ')} signals"}}:::wait`,
      );
      lines.push(`  ${previous} --> ${n}`);
      failEdges.push(`  ${n} -.->|"rejected, deadline passed or cancelled"| ${lastUndo ?? 'compensated'}`);
      previous = n;
    }
  }
  const lastIsWait = d.steps.at(-1)?.type === 'wait';
  lines.push(`  ${previous} -->${lastIsWait ? '|approved|' : ''} completed(["COMPLETED"])`);
  if (d.outcome.afterCompleted) {
    const a = d.outcome.afterCompleted;
    lines.push(`  completed -.->|then| after["${text(`${a.activity}`)}<br/><i>retried until done, not a step</i>"]`);
  }
  // The compensations, in the order they run: the last pushed first; in parallel, all at once from one fork.
  const chain = [...undoChain].reverse();
  for (const { node, label } of chain) lines.push(`  ${node}[/"${text(label)}"/]:::compensation`);
  const failed = onFailure === 'continue' ? '|"done, or failed: go on"|' : '';
  if (order === 'parallel') {
    lines.push('  undo_all{{"compensate the started steps at once"}}:::compensation');
    for (const { node } of chain) lines.push(`  undo_all --> ${node}`, `  ${node} -->${failed} compensated`);
  } else {
    for (const [i, { node }] of chain.entries()) {
      lines.push(`  ${node} -->${failed} ${chain[i + 1]?.node ?? 'compensated'}`);
    }
  }
  lines.push('  compensated(["COMPENSATED"])');
  if (d.outcome.onCancelled) {
    const { event, refundStep } = d.outcome.onCancelled;
    const refund = refundStep ? `refundIssued: ${text(refundStep)} undone` : 'refundIssued: false';
    lines.push(`  compensated -.->|reports| cancelledEvent["${text(event)}<br/><i>cancelledBy · ${refund}</i>"]`);
  }
  // In parallel, compensation starts at the fork whichever step failed.
  const fork = (edge: string) => edge.replace(/ (u_[A-Za-z0-9_]+)$/, ' undo_all');
  lines.push(...(order === 'parallel' ? failEdges.map(fork) : failEdges));
  lines.push(
    '  classDef compensatable fill:#eef6ff,stroke:#3b82f6',
    '  classDef read fill:#f5f5f5,stroke:#999',
    '  classDef pivot fill:#fff4e5,stroke:#f59e0b,stroke-width:3px',
    '  classDef retriable fill:#ecfdf5,stroke:#10b981',
    '  classDef wait fill:#fdf4ff,stroke:#a855f7',
    '  classDef compensation fill:#fff1f2,stroke:#f43f5e,stroke-dasharray:4 2',
  );
  return lines.join('\n') + '\n';
}

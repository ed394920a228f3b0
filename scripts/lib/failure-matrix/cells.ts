/**
 * The failure matrix's cells, derived from a saga definition alone (workflows/saga/definition.ts): for every step,
 * parallel group and wait of the definition × every failure kind, whether the saga can fail that way there, what it
 * must then end with, and which compensations must run, in which order. Pure: no servers (the runner, `run.ts`,
 * makes each applicable cell happen on the real servers and checks it).
 */
import { ApprovalFailures, StepKind, type SagaDefinition, type SagaNode } from '../../../workflows/saga/definition';
import { ParticipantFailures, SagaFailure, type ParticipantName } from '../../../common/failures';
import { SagaStatus } from '../../../common/saga-state';

/** What goes wrong while the step runs. */
export const FailureKind = {
  /** The participant answers with a business failure it declares (a wait: a person rejects). */
  business: 'business',
  /** Every attempt fails with an infrastructure error until the preset's attempts run out. */
  retries: 'retries',
  /** Every attempt lands its effect, then takes longer than its start-to-close timeout (a wait: its deadline passes). */
  timeout: 'timeout',
  /** The saga is cancelled (the API's cancel) while the step runs. */
  cancel: 'cancel',
  /**
   * The worker process is killed (SIGKILL) after the step's effect landed, before its result reached Temporal; a
   * fresh worker takes over. A dying worker must be invisible: the step is retried, finds its effect (idempotent by
   * key) and the saga goes on and COMPLETES, each effect applied once, nothing compensated.
   */
  kill: 'kill',
} as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];
export const failureKinds: readonly FailureKind[] = Object.values(FailureKind);

/** The name of the fault an injected infrastructure failure throws (the state's `failure.type` once retries ran out). */
export const INJECTED_FAULT = 'InjectedFault';

/** One row of the matrix: a node of the definition, where the fault is injected. */
export interface Row {
  /** The node's name (a parallel group's name: the fault hits its first member). */
  name: string;
  node: SagaNode;
  /** The participant call the fault is injected into (none for a wait). */
  activity?: ParticipantName;
}

interface CellBase {
  sagaType: string;
  row: Row;
  kind: FailureKind;
}
export interface ApplicableCell extends CellBase {
  applicable: true;
  /** The business failure to inject (kind `business` of a step). */
  businessType?: string;
  /** How the saga must end: COMPENSATED, or (kind `kill`) COMPLETED. */
  expectedStatus: typeof SagaStatus.COMPENSATED | typeof SagaStatus.COMPLETED;
  /** What the state's `failure.type` must be once the saga compensated; null for a saga that completes. */
  expectedFailureType: string | null;
  /**
   * The compensations (activity names) that must run, in this order: the started compensatable steps reversed;
   * none for a saga that completes.
   */
  expectedCompensations: string[];
}
export interface InapplicableCell extends CellBase {
  applicable: false;
  reason: string;
}
export type Cell = ApplicableCell | InapplicableCell;

/** The rows of a definition: one per node, in order. */
export function rowsOf(definition: SagaDefinition<never>): Row[] {
  return definition.nodes.map((node) =>
    node.type === 'wait' ? { name: node.name, node } : { name: node.name, node, activity: node.call.activity },
  );
}

/**
 * The compensations a saga that failed at `index` runs: one per started compensatable step (every member of a
 * parallel group), the failing node's own included (its compensation was pushed before it ran), in reverse.
 * `members`: a parallel group's member count (the fixture's items).
 */
function compensationsUpTo(definition: SagaDefinition<never>, index: number, members: number): string[] {
  const pushed: string[] = [];
  for (const node of definition.nodes.slice(0, index + 1)) {
    if (node.type === 'wait' || node.kind !== StepKind.compensatable || !node.compensation) continue;
    const times = node.type === 'parallel' ? members : 1;
    for (let i = 0; i < times; i++) pushed.push(node.compensation.activity);
  }
  return pushed.reverse();
}

const na = (base: CellBase, reason: string): InapplicableCell => ({ ...base, applicable: false, reason });

/** Every cell of a definition's matrix, row by row, for `kinds`. `members`: the fixture's parallel group size. */
export function cellsOf(
  sagaType: string,
  definition: SagaDefinition<never>,
  { kinds = failureKinds, members }: { kinds?: readonly FailureKind[]; members: number },
): Cell[] {
  const cells: Cell[] = [];
  for (const [index, row] of rowsOf(definition).entries()) {
    const expectedCompensations = compensationsUpTo(definition, index, members);
    for (const kind of kinds) {
      const base: CellBase = { sagaType, row, kind };
      const ok = (expectedFailureType: string, businessType?: string): ApplicableCell => ({
        ...base,
        applicable: true,
        expectedStatus: SagaStatus.COMPENSATED,
        expectedFailureType,
        expectedCompensations,
        ...(businessType ? { businessType } : {}),
      });
      const { node } = row;
      if (node.type === 'wait') {
        if (kind === FailureKind.business) cells.push(ok(ApprovalFailures[0]));
        else if (kind === FailureKind.timeout) cells.push(ok(ApprovalFailures[1]));
        else if (kind === FailureKind.cancel) cells.push(ok(SagaFailure.Cancelled));
        else if (kind === FailureKind.retries) cells.push(na(base, 'a wait calls no participant: nothing to retry'));
        else cells.push(na(base, 'a wait runs nothing in a worker: its deadline is a timer on the server'));
        continue;
      }
      if (node.kind === StepKind.pivot || node.kind === StepKind.retriable) {
        cells.push(na(base, `a ${node.kind} step: past it the saga goes forward only, there is nothing to compensate`));
        continue;
      }
      const activity = row.activity!;
      const declared: readonly string[] = ParticipantFailures[activity];
      if (kind === FailureKind.business) {
        cells.push(
          declared.length === 0
            ? na(base, `${activity} declares no business failure (ParticipantFailures)`)
            : ok(declared[0]!, declared[0]),
        );
      } else if (kind === FailureKind.retries) cells.push(ok(INJECTED_FAULT));
      else if (kind === FailureKind.timeout) cells.push(ok(SagaFailure.Timeout));
      else if (kind === FailureKind.cancel) cells.push(ok(SagaFailure.Cancelled));
      else if (node.kind === StepKind.read)
        cells.push(na(base, 'a read step changes nothing: a lost result leaves nothing to undo'));
      else {
        // Killed after its effect landed: the retry on the fresh worker finds it, the saga completes as if the
        // worker had not died.
        cells.push({
          ...base,
          applicable: true,
          expectedStatus: SagaStatus.COMPLETED,
          expectedFailureType: null,
          expectedCompensations: [],
        });
      }
    }
  }
  return cells;
}

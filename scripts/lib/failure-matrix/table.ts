/** The failure matrix as text: per saga type, a table step × failure kind, the notes it refers to, its coverage. */
import type { SagaNode } from '../../../workflows/saga/definition';
import type { FailureKind } from './cells';
import type { CellOutcome } from './run';

const kindOf = (node: SagaNode): string =>
  node.type === 'wait' ? 'wait' : node.type === 'parallel' ? `parallel ${node.kind}` : node.kind;

/** Cells shown / cells applicable (an inapplicable cell counts in neither). */
export function coverage(outcomes: readonly CellOutcome[]): { shown: number; applicable: number } {
  const applicable = outcomes.filter((o) => o.result !== 'n/a').length;
  return { shown: outcomes.filter((o) => o.result === 'shown').length, applicable };
}

export function formatMatrix(
  sagaType: string,
  kinds: readonly FailureKind[],
  outcomes: readonly CellOutcome[],
): string {
  const rows = [...new Set(outcomes.map((o) => o.cell.row.name))];
  const notes: string[] = [];
  const noteOf = (text: string): number => {
    const at = notes.indexOf(text);
    if (at >= 0) return at + 1;
    notes.push(text);
    return notes.length;
  };
  const failures: string[] = [];
  const table = rows.map((name) => {
    const row = outcomes.find((o) => o.cell.row.name === name)!.cell.row;
    const cells = kinds.map((kind) => {
      const o = outcomes.find((x) => x.cell.row.name === name && x.cell.kind === kind);
      if (!o) return '';
      if (o.result === 'shown') return '✓';
      if (o.result === 'n/a') return `n/a [${noteOf(o.reason)}]`;
      failures.push(`${name} × ${kind}: ${o.why}`);
      return `✗ (${failures.length})`;
    });
    return [`${name} (${kindOf(row.node)})`, ...cells];
  });
  const header = ['step', ...kinds];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' | ')} |`;
  const { shown, applicable } = coverage(outcomes);
  const pct = applicable === 0 ? 100 : Math.round((shown / applicable) * 100);
  return [
    `${sagaType}: coverage ${shown}/${applicable} applicable cells shown (${pct}%)`,
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...table.map(line),
    '',
    ...notes.map((n, i) => `n/a [${i + 1}]: ${n}`),
    ...failures.map((f, i) => `✗ (${i + 1}) ${f}`),
  ].join('\n');
}

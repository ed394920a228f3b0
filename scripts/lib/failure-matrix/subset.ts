/**
 * The failure matrix's `npm test` subset (test/faults/failure-matrix.test.ts), chosen from the definitions alone:
 * every row × business failure, and for each other failure kind the last row (the most compensations to check)
 * whose call is a regular activity and the wait; the last row whose call is a local activity × timeout (a local
 * call's timeout replayed from its marker: workflows/saga/compensation-stack.ts `asFirstRunFailure`); and `kill` of
 * the last regular and the last local row (a killed worker is survived differently there: its workflow task times
 * out and the local call runs again). A local row × cancel is left to the whole matrix (`npm run failure-matrix`),
 * where it fails today under the call limits (docs/failure-matrix.md, "What it found").
 */
import { FailureKind, type Cell } from './cells';

export function subsetOf(cells: readonly Cell[]): Cell[] {
  const chosen = new Set<Cell>();
  for (const cell of cells) if (cell.kind === FailureKind.business) chosen.add(cell);
  const kinds = [...new Set(cells.map((c) => c.kind))].filter((k) => k !== FailureKind.business);
  for (const kind of kinds) {
    const regular = cells.filter(
      (c) => c.kind === kind && c.applicable && c.row.node.type !== 'wait' && c.row.node.call.mode === 'regular',
    );
    const last = regular.at(-1);
    if (last) chosen.add(last);
    if (kind === FailureKind.kill) {
      const local = cells.filter(
        (c) => c.kind === kind && c.applicable && c.row.node.type !== 'wait' && c.row.node.call.mode === 'local',
      );
      const lastLocal = local.at(-1);
      if (lastLocal) chosen.add(lastLocal);
    }
    const wait = cells.find((c) => c.kind === kind && c.applicable && c.row.node.type === 'wait');
    if (wait) chosen.add(wait);
  }
  const local = cells.filter(
    (c) =>
      c.kind === FailureKind.timeout && c.applicable && c.row.node.type !== 'wait' && c.row.node.call.mode === 'local',
  );
  const lastLocal = local.at(-1);
  if (lastLocal) chosen.add(lastLocal);
  return cells.filter((c) => chosen.has(c));
}

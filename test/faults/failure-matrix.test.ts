/**
 * The failure matrix's `npm test` subset (scripts/lib/failure-matrix/subset.ts: every step × business failure, and
 * per other failure kind the last step whose call is a regular activity, and the wait; the last step whose call is a
 * local activity × a timeout; `kill` for the order saga only, of its last regular and last local step), each cell a
 * real saga on the real servers, checked as the matrix checks it: COMPENSATED with the failing step and type in its
 * state, exactly the started compensatable steps undone in reverse order in Temporal's history, the participants'
 * documents as before; a kill cell: COMPLETED on a fresh worker process, nothing compensated, each effect applied
 * once. The whole matrix: `npm run failure-matrix` (docs/failure-matrix.md).
 */
import { sagaDefinitions } from '../../workflows/definitions';
import { FailureKind } from '../../scripts/lib/failure-matrix/cells';
import {
  matrixCells,
  runMatrix,
  sagaTypes,
  startMatrixHarness,
  type Cell,
  type MatrixHarness,
} from '../../scripts/lib/failure-matrix';
import { subsetOf } from '../../scripts/lib/failure-matrix/subset';

const kinds = [FailureKind.business, FailureKind.retries, FailureKind.timeout, FailureKind.cancel];
/** The kill cells (a worker process each, twice) run for the order saga only: one local step, one regular one. */
const kindsOf = (sagaType: string) => (sagaType === 'order' ? [...kinds, FailureKind.kill] : kinds);
const label: Record<string, string> = {
  business: 'a business failure',
  retries: 'retries running out',
  timeout: 'a timeout',
  cancel: 'a cancellation while it runs',
  kill: 'the worker killed while it runs',
};

let m: MatrixHarness;
beforeAll(async () => {
  m = await startMatrixHarness();
}, 120_000);
afterAll(async () => m?.stop());

describe.each(sagaTypes)('the %s saga', (sagaType) => {
  const cells = subsetOf(matrixCells(sagaType, kindsOf(sagaType))).filter(
    (c): c is Cell & { applicable: true } => c.applicable,
  );
  const compensating = cells.filter((c) => c.kind !== FailureKind.kill);
  const killed = cells.filter((c) => c.kind === FailureKind.kill);

  test.each(compensating.map((c) => [c.row.name, label[c.kind], c] as const))(
    'when %s meets %s, the saga compensates exactly its started steps in reverse and the data is as before',
    async (_row, _kind, cell) => {
      const [outcome] = await runMatrix(m, sagaType, [cell]);
      // the cell's own words when it failed: what ended differently
      expect(outcome?.result === 'failed' ? outcome.why : outcome?.result).toBe('shown');
    },
    120_000,
  );

  if (killed.length > 0) {
    test.each(killed.map((c) => [c.row.name, c] as const))(
      'when the worker is killed after %s landed its effect, a fresh worker completes the saga with each effect applied once and nothing compensated',
      async (_row, cell) => {
        const [outcome] = await runMatrix(m, sagaType, [cell]);
        expect(outcome?.result === 'failed' ? outcome.why : outcome?.result).toBe('shown');
      },
      120_000,
    );
  }
});

test('every step of every definition has a row, and the inapplicable cells say why from the definition', () => {
  const order = matrixCells('order');
  expect(order.map((c) => c.row.name)).toEqual(
    sagaDefinitions.order.nodes.flatMap((n) => Array(5).fill(n.name) as string[]),
  );
  const na = (type: 'order' | 'transport-order', row: string, kind: FailureKind) =>
    matrixCells(type).find((c) => c.row.name === row && c.kind === kind);
  expect(na('order', 'priceOrder', FailureKind.kill)).toMatchObject({
    applicable: false,
    reason: expect.stringContaining('read step'),
  });
  expect(na('order', 'reserveVehicle', FailureKind.kill)).toMatchObject({
    applicable: true,
    expectedStatus: 'COMPLETED',
    expectedFailureType: null,
    expectedCompensations: [],
  });
  expect(subsetOf(matrixCells('order', [FailureKind.kill])).map((c) => c.row.name)).toEqual([
    'processPayment',
    'reserveVehicle',
  ]);
  expect(na('transport-order', 'assignVehicle', FailureKind.business)).toMatchObject({
    applicable: false,
    reason: 'assignVehicle declares no business failure (ParticipantFailures)',
  });
  expect(na('transport-order', 'awaitDecision', FailureKind.retries)).toMatchObject({ applicable: false });
  expect(na('transport-order', 'awaitDecision', FailureKind.business)).toMatchObject({
    applicable: true,
    expectedFailureType: 'Rejected',
  });
  expect(na('transport-order', 'addParcel', FailureKind.business)).toMatchObject({
    expectedCompensations: ['removeParcelFromTransport', 'removeParcelFromTransport', 'cancelTransportOrder'],
  });
  expect(na('order', 'reserveVehicle', FailureKind.timeout)).toMatchObject({
    expectedCompensations: ['releaseVehicle', 'cancelShipment', 'refundPayment', 'releaseInventory', 'releaseCredit'],
  });
});

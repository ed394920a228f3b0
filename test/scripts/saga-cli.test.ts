/**
 * `npm run saga -- describe <type> --json | --mermaid` (scripts/saga.ts): the definition as JSON (steps with their
 * kinds, the input's JSON Schema) and as a Mermaid flowchart; an unknown type, command or flag exits 2 with the usage.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DescribedSaga } from '../../workflows/definitions/describe';

const root = path.join(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

async function saga(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(tsx, ['scripts/saga.ts', ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

test('describe order --json: the steps in order with their kinds, calls and compensations, the outcome and the input schema', async () => {
  const { code, stdout } = await saga('describe', 'order', '--json');
  expect(code).toBe(0);
  const described = JSON.parse(stdout) as DescribedSaga & { input: unknown };
  expect(described).toMatchObject({ name: 'order', version: 1, workflowType: 'orderSaga' });
  // No policy in its header: the default, one compensation at a time, waiting for the operator at a failure.
  expect(described.compensation).toEqual({ order: 'sequential', onFailure: 'stop' });
  expect(described.steps.map((s) => [s.name, 'kind' in s ? s.kind : s.type])).toEqual([
    ['priceOrder', 'read'],
    ['reserveCredit', 'compensatable'],
    ['reserveInventory', 'compensatable'],
    ['processPayment', 'compensatable'],
    ['createShipment', 'compensatable'],
    ['reserveVehicle', 'compensatable'],
  ]);
  expect(described.steps[3]).toEqual({
    type: 'step',
    name: 'processPayment',
    kind: 'compensatable',
    call: { activity: 'processPayment', mode: 'regular', preset: 'participant', failures: ['PaymentDeclined'] },
    compensation: { activity: 'refundPayment', preset: 'compensation' },
    variants: [],
  });
  // The shipment's broker variant, chosen by the carrier the saga fixes at its start.
  expect(described.steps[4]).toMatchObject({
    variants: [{ name: 'broker', activity: 'createShipmentByCommand', compensation: 'cancelShipmentByCommand' }],
  });
  // Then its stored configuration (docs/sagas.md, "Stored configuration").
  expect(described.choices).toEqual([
    expect.objectContaining({ name: 'carrier', activity: 'chooseCarrier' }),
    expect.objectContaining({ name: 'config', activity: 'readSagaConfig', patch: 'saga-config' }),
  ]);
  expect(described.outcome.afterCompleted).toEqual({
    activity: 'recordCompletedOrder',
    preset: 'untilDone',
    patch: 'loyalty-signal',
  });
  expect(described.input).toMatchObject({ type: 'object', required: expect.arrayContaining(['orderId', 'items']) });
});

test('describe transport-order --json: the parallel group and the approval wait', async () => {
  const { code, stdout } = await saga('describe', 'transport-order', '--json');
  expect(code).toBe(0);
  const { steps } = JSON.parse(stdout) as DescribedSaga;
  expect(steps[1]).toMatchObject({
    type: 'parallel',
    name: 'addParcel',
    over: 'parcelIds',
    member: 'addParcel:<item>',
  });
  expect(steps.at(-1)).toEqual({
    type: 'wait',
    name: 'awaitDecision',
    wait: 'approval',
    update: 'decide',
    signals: ['approve', 'reject'],
    failures: ['Rejected', 'DecisionTimedOut'],
  });
});

test('describe <type> --mermaid: a flowchart with the steps, the compensations, the parallel group and the wait', async () => {
  const { code, stdout } = await saga('describe', 'transport-order', '--mermaid');
  expect(code).toBe(0);
  expect(stdout.startsWith('flowchart TD\n')).toBe(true);
  expect(stdout).toContain('subgraph g_addParcel');
  expect(stdout).toContain('w_awaitDecision{{');
  expect(stdout).toContain('u_assignVehicle --> u_reserveVehicleResource');
});

test.each([
  [['describe', 'nope', '--json'], /unknown saga type: nope/],
  [['describe', 'order'], /needs exactly one of --json, --mermaid/],
  [['describe', 'order', '--yaml'], /needs exactly one of --json, --mermaid/],
  [['describe'], /describe needs a saga type/],
  [['explain', 'order'], /unknown command: explain/],
  [[], /no command/],
  [['docs', '--force'], /docs takes only --check/],
])('saga %j: exit 2 with the usage', async (args, message) => {
  const { code, stdout, stderr } = await saga(...args);
  expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
  expect(stderr).toMatch(message);
  expect(stderr).toContain('usage: npm run saga -- describe <type> --json | --mermaid');
});

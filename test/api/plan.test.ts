import { compensationPlan, type PlanInput } from '../../api/sagas/plan';
import { SagaStatus, StepStatus } from '../../common/saga-state';
import { orderSagaDefinition, transportOrderDefinition } from '../../workflows/definitions';
import { defineSaga } from '../../workflows/saga/definition';

/** The compensation plan over crafted states: which compensations would run now, in which order, what stays. */

type Step = PlanInput['steps'][number];
const step = (name: string, status: StepStatus, compensation: string | null = null): Step => ({
  name,
  status,
  compensation,
});
const state = (status: SagaStatus, steps: Step[], compensationFailure: PlanInput['compensationFailure'] = null) => ({
  orderId: 'o1',
  status,
  steps,
  compensationFailure,
});
const names = (plan: { compensations: { step: string }[] }) => plan.compensations.map((c) => c.step);

describe('an order saga', () => {
  const atPayment = [
    step('priceOrder', StepStatus.COMPLETED),
    step('reserveCredit', StepStatus.COMPLETED, 'releaseCredit'),
    step('reserveInventory', StepStatus.COMPLETED, 'releaseInventory'),
    step('processPayment', StepStatus.RUNNING, 'refundPayment'),
  ];

  test('running at payment: the payment (pushed before it ran), inventory and credit, in reverse; the price stays', () => {
    const plan = compensationPlan('order', orderSagaDefinition, state(SagaStatus.RUNNING, atPayment));
    expect(plan.compensations).toEqual([
      { step: 'processPayment', compensation: 'refundPayment', stepStatus: 'RUNNING', group: null },
      { step: 'reserveInventory', compensation: 'releaseInventory', stepStatus: 'COMPLETED', group: null },
      { step: 'reserveCredit', compensation: 'releaseCredit', stepStatus: 'COMPLETED', group: null },
    ]);
    expect(plan.cannotUndo).toEqual([{ step: 'priceOrder', kind: 'read', stepStatus: 'COMPLETED', reason: 'read' }]);
    expect(plan).toMatchObject({
      sagaType: 'order',
      orderId: 'o1',
      status: 'RUNNING',
      waitingOn: null,
      compensated: [],
    });
  });

  test('FAILED at a compensation: that one first, then the rest; those already undone are listed as compensated', () => {
    const steps = [
      step('priceOrder', StepStatus.COMPLETED),
      step('reserveCredit', StepStatus.COMPLETED, 'releaseCredit'),
      step('reserveInventory', StepStatus.COMPENSATION_FAILED, 'releaseInventory'),
      step('processPayment', StepStatus.COMPENSATED, 'refundPayment'),
      step('createShipment', StepStatus.COMPENSATED, 'cancelShipment'),
    ];
    const failure = { step: 'reserveInventory', compensation: 'releaseInventory' };
    const plan = compensationPlan('order', orderSagaDefinition, state(SagaStatus.FAILED, steps, failure));
    expect(names(plan)).toEqual(['reserveInventory', 'reserveCredit']);
    expect(plan.compensations[0]?.stepStatus).toBe('COMPENSATION_FAILED');
    expect(plan.waitingOn).toEqual(failure);
    expect(plan.compensated).toEqual([
      { step: 'createShipment', compensation: 'cancelShipment' },
      { step: 'processPayment', compensation: 'refundPayment' },
    ]);
  });

  test('COMPLETED: nothing to run, whatever compensations its steps have', () => {
    const steps = [...atPayment.slice(0, 3), step('processPayment', StepStatus.COMPLETED, 'refundPayment')];
    const plan = compensationPlan('order', orderSagaDefinition, state(SagaStatus.COMPLETED, steps));
    expect(plan.compensations).toEqual([]);
    expect(plan.waitingOn).toBeNull();
    expect(plan.cannotUndo.map((s) => s.step)).toEqual(['priceOrder']);
  });

  test('COMPENSATED: nothing to run, every compensation listed in the order it ran', () => {
    const steps = [
      step('priceOrder', StepStatus.COMPLETED),
      step('reserveCredit', StepStatus.COMPENSATED, 'releaseCredit'),
      step('reserveInventory', StepStatus.COMPENSATED, 'releaseInventory'),
    ];
    const plan = compensationPlan('order', orderSagaDefinition, state(SagaStatus.COMPENSATED, steps));
    expect(plan.compensations).toEqual([]);
    expect(plan.compensated.map((c) => c.step)).toEqual(['reserveInventory', 'reserveCredit']);
  });

  test('a step that failed before its compensation ran is still undone (its effect may have landed)', () => {
    const steps = [
      step('priceOrder', StepStatus.COMPLETED),
      step('reserveCredit', StepStatus.COMPLETED, 'releaseCredit'),
      step('reserveInventory', StepStatus.FAILED, 'releaseInventory'),
    ];
    const plan = compensationPlan('order', orderSagaDefinition, state(SagaStatus.COMPENSATING, steps));
    expect(names(plan)).toEqual(['reserveInventory', 'reserveCredit']);
  });
});

describe('a transport order', () => {
  test('every member of the parallel group, last pushed first, named by its group; the read and the wait stay', () => {
    const steps = [
      step('createTransportOrder', StepStatus.COMPLETED, 'cancelTransportOrder'),
      step('addParcel:p1', StepStatus.COMPLETED, 'removeParcelFromTransport'),
      step('addParcel:p2', StepStatus.COMPLETED, 'removeParcelFromTransport'),
      step('chooseVehicle', StepStatus.COMPLETED),
      step('reserveVehicleResource', StepStatus.COMPLETED, 'releaseVehicleResource'),
      step('assignVehicle', StepStatus.COMPLETED, 'unassignVehicle'),
      step('awaitDecision', StepStatus.RUNNING),
    ];
    const plan = compensationPlan('transport-order', transportOrderDefinition, state(SagaStatus.RUNNING, steps));
    expect(plan.compensations.map((c) => [c.step, c.group])).toEqual([
      ['assignVehicle', null],
      ['reserveVehicleResource', null],
      ['addParcel:p2', 'addParcel'],
      ['addParcel:p1', 'addParcel'],
      ['createTransportOrder', null],
    ]);
    expect(plan.cannotUndo).toEqual([{ step: 'chooseVehicle', kind: 'read', stepStatus: 'COMPLETED', reason: 'read' }]);
  });

  test('a decided approval is a completed step nothing undoes', () => {
    const steps = [
      step('createTransportOrder', StepStatus.COMPENSATED, 'cancelTransportOrder'),
      step('awaitDecision', StepStatus.COMPLETED),
    ];
    const plan = compensationPlan('transport-order', transportOrderDefinition, state(SagaStatus.COMPENSATED, steps));
    expect(plan.cannotUndo).toEqual([{ step: 'awaitDecision', kind: 'wait', stepStatus: 'COMPLETED', reason: 'wait' }]);
  });
});

describe('a saga with a pivot', () => {
  // The builder's rules: nothing compensatable after the pivot; what follows is retried until it succeeds.
  const definition = defineSaga<{ orderId: string; customerId: string }, never>({
    name: 'order',
    version: 1,
    workflowType: 'pivotSaga',
    description: 'reserve, charge (the pivot), then record',
    sagaId: (i) => i.orderId,
    customerId: (i) => i.customerId,
    initialState: () => ({}),
  })
    .step('reserveCredit', {
      kind: 'compensatable',
      summary: () => 'reserve',
      call: {
        activity: 'reserveCredit',
        mode: 'regular',
        preset: 'participant',
        args: () => ({ key: 'k', customerId: 'c', amountCents: 1 }),
      },
      compensation: {
        activity: 'releaseCredit',
        preset: 'compensation',
        summary: () => 'release',
        args: () => ({ key: 'k', customerId: 'c' }),
      },
    })
    .step('processPayment', {
      kind: 'pivot',
      summary: () => 'charge',
      call: {
        activity: 'processPayment',
        mode: 'regular',
        preset: 'participant',
        args: () => ({ key: 'k', orderId: 'o', customerId: 'c', amountCents: 1, token: 't' }),
      },
    })
    .step('recordCompletedOrder', {
      kind: 'retriable',
      summary: () => 'record',
      call: {
        activity: 'recordCompletedOrder',
        mode: 'regular',
        preset: 'untilDone',
        args: () => ({ customerId: 'c', orderId: 'o' }),
      },
    })
    .build();

  test('the pivot and the steps after it cannot be undone; what was before it still would be', () => {
    const steps = [
      step('reserveCredit', StepStatus.COMPLETED, 'releaseCredit'),
      step('processPayment', StepStatus.COMPLETED),
      step('recordCompletedOrder', StepStatus.COMPLETED),
    ];
    const plan = compensationPlan('order', definition, state(SagaStatus.RUNNING, steps));
    expect(names(plan)).toEqual(['reserveCredit']);
    expect(plan.cannotUndo.map((s) => [s.step, s.reason])).toEqual([
      ['processPayment', 'pivot'],
      ['recordCompletedOrder', 'retriable'],
    ]);
  });
});

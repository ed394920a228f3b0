/**
 * Every saga definition keeps the saga rules (`workflows/definitions/validate.ts`), and each rule catches a definition
 * that breaks it. The broken definitions are the real ones with one thing changed, built past the builder's types
 * (which refuse the same things at build time: test/workflows/definition-types.ts).
 */
import { sagaDefinitions } from '../../workflows/definitions';
import { validateDefinition } from '../../workflows/definitions/validate';
import { describeDefinition, toMermaid } from '../../workflows/definitions/describe';
import type { SagaDefinition, SagaNode, StepNode } from '../../workflows/saga/definition';

const order = sagaDefinitions.order as SagaDefinition<never>;
const transport = sagaDefinitions['transport-order'] as SagaDefinition<never>;

/** The definition with its nodes changed by `change` (a copy: the real definition is left alone). */
function broken(definition: SagaDefinition<never>, change: (nodes: SagaNode[]) => SagaNode[]): SagaDefinition<never> {
  return { ...definition, nodes: change(definition.nodes.map((n) => ({ ...n }))) };
}
const named = (nodes: SagaNode[], name: string) => nodes.find((n) => n.name === name) as StepNode;

describe('saga definitions', () => {
  test.each(Object.entries(sagaDefinitions))('%s keeps every rule', (_type, definition) => {
    expect(validateDefinition(definition as SagaDefinition<never>)).toEqual([]);
  });

  test('names are unique: a step name used twice is refused', () => {
    const twice = broken(order, (nodes) => [...nodes, { ...named(nodes, 'reserveCredit') }]);
    expect(validateDefinition(twice)).toEqual(['order: reserveCredit: the name is used twice']);
  });

  test('every compensatable step has a compensation, and only those', () => {
    const without = broken(order, (nodes) => {
      delete named(nodes, 'processPayment').compensation;
      return nodes;
    });
    expect(validateDefinition(without)).toEqual(['order: processPayment: a compensatable step without a compensation']);
    const readUndone = broken(order, (nodes) => {
      named(nodes, 'priceOrder').compensation = named(nodes, 'reserveCredit').compensation!;
      return nodes;
    });
    expect(validateDefinition(readUndone)).toEqual(['order: priceOrder: a read step with a compensation']);
    const parallel = broken(transport, (nodes) => {
      delete (nodes.find((n) => n.type === 'parallel') as { compensation?: unknown }).compensation;
      return nodes;
    });
    expect(validateDefinition(parallel)).toEqual([
      'transport-order: addParcel: a compensatable step without a compensation',
    ]);
  });

  test('no compensatable step after the pivot (nor a second pivot, a parallel group or a wait)', () => {
    const pivotFirst = broken(order, (nodes) => {
      const payment = named(nodes, 'processPayment');
      payment.kind = 'pivot';
      delete payment.compensation;
      return nodes;
    });
    expect(validateDefinition(pivotFirst)).toEqual([
      'order: createShipment: a compensatable step after the pivot processPayment',
      'order: reserveVehicle: a compensatable step after the pivot processPayment',
    ]);
    const twoPivots = broken(order, (nodes) => {
      for (const name of ['createShipment', 'reserveVehicle']) {
        named(nodes, name).kind = 'pivot';
        delete named(nodes, name).compensation;
        delete named(nodes, name).variants;
      }
      return nodes;
    });
    expect(validateDefinition(twoPivots)).toEqual([
      'order: reserveVehicle: a second pivot, after the pivot createShipment',
    ]);
    const waitAfter = broken(transport, (nodes) => {
      const assign = named(nodes, 'assignVehicle');
      assign.kind = 'pivot';
      delete assign.compensation;
      return nodes;
    });
    expect(validateDefinition(waitAfter)).toEqual([
      'transport-order: awaitDecision: a wait after the pivot assignVehicle: a rejection there could not be undone',
    ]);
  });

  test('a retriable step never fails with a business failure: its activity must declare none (ParticipantFailures)', () => {
    const retriable = broken(order, (nodes) => {
      const vehicle = named(nodes, 'reserveVehicle');
      vehicle.kind = 'retriable';
      delete vehicle.compensation;
      return nodes;
    });
    expect(validateDefinition(retriable)).toEqual([
      'order: reserveVehicle: a retriable step, but its activity reserveVehicle declares business failures (NoVehicleAvailable); it must declare none',
    ]);
    // An activity that declares none is fine as a retriable step, after the pivot.
    const fine = broken(order, (nodes) => {
      const shipment = named(nodes, 'createShipment');
      shipment.kind = 'pivot';
      delete shipment.compensation;
      delete shipment.variants;
      const vehicle = named(nodes, 'reserveVehicle');
      vehicle.kind = 'retriable';
      delete vehicle.compensation;
      vehicle.call = { ...vehicle.call, activity: 'recordCompletedOrder' };
      return nodes;
    });
    expect(validateDefinition(fine)).toEqual([]);
  });

  test('nor does a compensation, nor a read after the pivot, nor the call after completion', () => {
    const badUndo = broken(order, (nodes) => {
      const credit = named(nodes, 'reserveCredit');
      credit.compensation = { ...credit.compensation!, activity: 'reserveCredit' };
      return nodes;
    });
    expect(validateDefinition(badUndo)).toEqual([
      'order: reserveCredit: its compensation reserveCredit declares business failures (UnknownCustomer, InsufficientCredit); it must declare none',
    ]);
    const readAfter = broken(order, (nodes) => {
      const credit = named(nodes, 'reserveCredit');
      credit.kind = 'pivot';
      delete credit.compensation;
      return [
        ...nodes.filter((n) => n.name === 'priceOrder' || n.name === 'reserveCredit'),
        { ...named(nodes, 'priceOrder'), name: 'priceAgain' },
      ];
    });
    expect(validateDefinition(readAfter)).toEqual([
      'order: priceAgain: a read after the pivot reserveCredit, but its activity priceOrder declares business failures (UnknownProduct); it must declare none',
    ]);
    const after = { ...order, afterCompleted: { ...order.afterCompleted!, activity: 'processPayment' as const } };
    expect(validateDefinition(after)).toEqual([
      'order: afterCompleted: the call after completion processPayment declares business failures (PaymentDeclined); it must declare none',
    ]);
  });

  test('calls name declared activities, and a local call a preset with a local variant', () => {
    const unknown = broken(order, (nodes) => {
      const credit = named(nodes, 'reserveCredit');
      credit.call = { ...credit.call, activity: 'reserveCreditTwice' as never };
      return nodes;
    });
    expect(validateDefinition(unknown)).toEqual([
      'order: reserveCredit: calls reserveCreditTwice, which is not a declared activity',
    ]);
    const local = broken(order, (nodes) => {
      const credit = named(nodes, 'reserveCredit');
      credit.call = { ...credit.call, preset: 'compensation' };
      return nodes;
    });
    expect(validateDefinition(local)).toEqual([
      'order: reserveCredit: a local call with preset compensation, which has no local variant',
    ]);
  });

  test("onCancelled's refundStep names a compensatable step of the saga", () => {
    const fulfilment = sagaDefinitions['order-fulfilment'] as SagaDefinition<never>;
    const refundOf = (refundStep: string) => ({
      ...fulfilment,
      onCancelled: { ...fulfilment.onCancelled!, refundStep },
    });
    expect(validateDefinition(refundOf('chargePayment'))).toEqual([]);
    expect(validateDefinition(refundOf('priceOrder'))).toEqual([
      'order-fulfilment: onCancelled: its refundStep priceOrder is not a compensatable step of the saga',
    ]);
    expect(validateDefinition(refundOf('refund'))).toEqual([
      'order-fulfilment: onCancelled: its refundStep refund is not a compensatable step of the saga',
    ]);
  });

  test('the compensation policy shows in the description and the diagram; the default adds nothing to the diagram', () => {
    expect(describeDefinition(order).compensation).toEqual({ order: 'sequential', onFailure: 'stop' });
    expect(toMermaid(order)).not.toContain('compensation:');
    expect(toMermaid(order)).toContain('  u_reserveInventory --> u_reserveCredit');

    const parallel = { ...order, compensation: { order: 'parallel', onFailure: 'continue' } } as const;
    expect(describeDefinition(parallel).compensation).toEqual({ order: 'parallel', onFailure: 'continue' });
    const diagram = toMermaid(parallel);
    expect(diagram).toContain('compensation: parallel, continue');
    expect(diagram).toContain('  undo_all --> u_reserveCredit');
    expect(diagram).toContain('  u_reserveCredit -->|"done, or failed: go on"| compensated');
    expect(diagram).not.toContain('u_reserveInventory --> u_reserveCredit');
    // Whichever step fails, compensation starts at the fork.
    expect(diagram).toContain('  s_processPayment -.->|"fails or cancelled"| undo_all');

    const continuing = toMermaid({ ...order, compensation: { order: 'sequential', onFailure: 'continue' } });
    expect(continuing).toContain('  u_reserveInventory -->|"done, or failed: go on"| u_reserveCredit');
  });
});

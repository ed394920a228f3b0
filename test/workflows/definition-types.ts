/**
 * The saga definition builder's build-time checks (`workflows/saga/definition.ts`): each `@ts-expect-error` below is
 * a broken definition the compiler refuses, so `npm run build` fails if one of them is ever accepted. Not run, only
 * compiled; the same rules are checked at run time by `workflows/definitions/validate.ts` (test/workflows/definitions.test.ts).
 */
import type { OrderSagaInput, OrderState } from '../../common/order';
import { defineSaga } from '../../workflows/saga/definition';
import { orderSagaDefinition } from '../../workflows/definitions';
import { entry } from '../../api/sagas/catalogue';
import { TransportOrderInput } from '../../common/shapes/transport';

const header = {
  name: 'order',
  version: 1,
  workflowType: 'typeCheckOnly',
  description: 'type checks',
  sagaId: (input: OrderSagaInput) => input.orderId,
  customerId: (input: OrderSagaInput) => input.customerId,
  initialState: ({ orderId, customerId }: OrderSagaInput) => ({ orderId, customerId, total: null }),
} as const;

const credit = {
  activity: 'reserveCredit',
  mode: 'regular',
  preset: 'participant',
  args: ({ input }: { input: OrderSagaInput }) => ({ key: 'k', customerId: input.customerId, amountCents: 1 }),
} as const;
const release = {
  activity: 'releaseCredit',
  preset: 'compensation',
  summary: () => 'release',
  args: ({ input }: { input: OrderSagaInput }) => ({ key: 'k', customerId: input.customerId }),
} as const;

export const typeChecks = [
  // A well-formed one: compensatable, then the pivot, then a retriable step whose activity declares no failure.
  defineSaga<OrderSagaInput, OrderState>(header)
    .step('a', { kind: 'compensatable', summary: () => 'a', call: credit, compensation: release })
    .step('b', {
      kind: 'pivot',
      summary: () => 'b',
      call: {
        ...credit,
        activity: 'processPayment',
        args: () => ({ key: 'k', orderId: 'o', customerId: 'c', amountCents: 1, token: 't' }),
      },
    })
    .step('c', {
      kind: 'retriable',
      summary: () => 'c',
      call: {
        activity: 'releaseCredit',
        mode: 'regular',
        preset: 'participant',
        args: () => ({ key: 'k', customerId: 'c' }),
      },
    })
    .build(),

  // @ts-expect-error a compensatable step without a compensation
  defineSaga<OrderSagaInput, OrderState>(header).step('a', { kind: 'compensatable', summary: () => 'a', call: credit }),

  defineSaga<OrderSagaInput, OrderState>(header).step('a', {
    kind: 'read',
    summary: () => 'a',
    call: credit,
    // @ts-expect-error a read step with a compensation
    compensation: release,
  }),

  defineSaga<OrderSagaInput, OrderState>(header)
    .step('p', { kind: 'pivot', summary: () => 'p', call: credit })
    // @ts-expect-error a compensatable step after the pivot
    .step('a', { kind: 'compensatable', summary: () => 'a', call: credit, compensation: release }),

  defineSaga<OrderSagaInput, OrderState>(header)
    .step('p', { kind: 'pivot', summary: () => 'p', call: credit })
    // @ts-expect-error a second pivot
    .step('q', { kind: 'pivot', summary: () => 'q', call: credit }),

  // @ts-expect-error a retriable step whose activity declares business failures (reserveCredit: InsufficientCredit, …)
  defineSaga<OrderSagaInput, OrderState>(header).step('r', { kind: 'retriable', summary: () => 'r', call: credit }),

  defineSaga<OrderSagaInput, OrderState>(header)
    .step('a', { kind: 'compensatable', summary: () => 'a', call: credit, compensation: release })
    // @ts-expect-error the same step name twice
    .step('a', { kind: 'compensatable', summary: () => 'a', call: credit, compensation: release }),

  // @ts-expect-error a compensation whose activity declares a business failure
  defineSaga<OrderSagaInput, OrderState>(header).step('a', {
    kind: 'compensatable',
    summary: () => 'a',
    call: credit,
    compensation: {
      ...release,
      activity: 'reserveCredit',
      args: () => ({ key: 'k', customerId: 'c', amountCents: 1 }),
    },
  }),

  defineSaga<OrderSagaInput, OrderState>(header).step('a', {
    kind: 'compensatable',
    summary: () => 'a',
    // @ts-expect-error a local call with a preset that has no local variant
    call: { ...credit, mode: 'local', preset: 'compensation' },
    compensation: release,
  }),

  defineSaga<OrderSagaInput, OrderState>(header).step('a', {
    kind: 'compensatable',
    summary: () => 'a',
    // @ts-expect-error the call's arguments are not its activity's parameter
    call: { ...credit, args: () => ({ key: 'k' }) },
    compensation: release,
  }),

  defineSaga<OrderSagaInput, OrderState>(header)
    .step('a', { kind: 'compensatable', summary: () => 'a', call: credit, compensation: release })
    // @ts-expect-error a later step reads a result that no earlier step produced
    .step('b', { kind: 'read', summary: ({ results }) => `${results.nothing}`, call: credit }),

  // @ts-expect-error an approval on a state without the approval fields
  defineSaga<OrderSagaInput, OrderState>(header).approval('w', {
    subject: () => 's',
    deadlineMs: () => 1,
    summary: () => 'w',
  }),
];

// The catalogue's join (api/sagas/catalogue.ts): a definition with another saga's input schema is refused.
// @ts-expect-error the transport order's input schema joined to the order saga's definition
entry(orderSagaDefinition, TransportOrderInput);

/**
 * The domain events the compensation engine emits, on the order saga with mocked participants (time-skipping test
 * server; `appendDomainEvents` is the support kit's recorder): one event per transition, sequences 1..n, ids
 * `<workflowId>#<sequence>`, appended before the saga ends or waits for an operator, no personal data.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getStateQuery, retryCompensationSignal } from '../../common/definitions';
import type { DomainEvent } from '../../common/domain-events';
import { DomainEvent as DomainEventSchema } from '../../common/shapes/domain-events';
import { BusinessFailure } from '../../common/failures';
import { ORDER_SAGA, orderWorkflowId, type OrderSagaInput, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import type { orderSaga } from '../../workflows';
import { appendedEvents, done, mockWorker, timeSkippingEnv } from './support';
import { sagaResult } from '../../common/saga-result';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => env?.teardown());

const input = (token: string): OrderSagaInput => ({
  orderId: randomUUID().slice(0, 8),
  customerId: 'cust-1',
  items: [{ sku: 'sku-1', quantity: 2 }],
  payment: { token },
  shippingAddress: { line1: '1 Secret Street', city: 'Privacyville', postalCode: 'P1 2VY', country: 'IE' },
  deliveryDate: '2027-03-01',
});

const participants = (failInventoryRelease: { calls: number }) => ({
  priceOrder: () => done({ totalCents: 2000 }),
  reserveCredit: () => done('applied'),
  reserveInventory: () => done('applied'),
  processPayment: ({ token }: { token: string }) =>
    token === 'tok_declined'
      ? Promise.reject(ApplicationFailure.nonRetryable('Card declined', BusinessFailure.PaymentDeclined))
      : done('applied'),
  createShipment: () => done('applied'),
  reserveVehicle: () => done({ outcome: 'applied', date: '2027-03-01' }),
  recordCompletedOrder: () => done(undefined),
  refundPayment: () => done('undone'),
  releaseInventory: () =>
    failInventoryRelease.calls-- > 0
      ? Promise.reject(ApplicationFailure.nonRetryable('Disk on fire', 'InjectedFault'))
      : done('undone'),
  releaseCredit: () => done('undone'),
});

function expectWellFormed(workflowId: string, events: DomainEvent[]): void {
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  for (const e of events) {
    expect(DomainEventSchema.parse(e)).toEqual(e);
    expect(e.eventId).toBe(`${workflowId}#${e.sequence}`);
  }
  const text = JSON.stringify(events);
  for (const personal of ['Secret Street', 'Privacyville', 'P1 2VY', 'tok_', 'Card declined', 'Disk on fire']) {
    expect(text).not.toContain(personal);
  }
}

describe('domain events of the order saga (time-skipping, mocked participants)', () => {
  test('a completed order: started, each step completed, its total, completed — sequences 1..n', async () => {
    const taskQueue = `domain-events-${randomUUID()}`;
    const worker = await mockWorker(env, taskQueue, participants({ calls: 0 }));
    const order = input('tok_ok');
    const workflowId = orderWorkflowId(order.orderId);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof orderSaga>(ORDER_SAGA, {
        taskQueue,
        workflowId,
        args: [order],
      });
      expect((await sagaResult(handle)).status).toBe(SagaStatus.COMPLETED);
    });
    const events = appendedEvents.get(workflowId) ?? [];
    expect(events.map((e) => e.type)).toEqual([
      'SagaStarted',
      'StepCompleted',
      'SagaTotalSet',
      'StepCompleted',
      'StepCompleted',
      'StepCompleted',
      'StepCompleted',
      'StepCompleted',
      'SagaCompleted',
    ]);
    expect(events[0]).toMatchObject({ sagaType: 'order', sagaId: order.orderId, data: { customerId: 'cust-1' } });
    expect(events[2]?.data).toEqual({ total: 20 });
    expectWellFormed(workflowId, events);
  });

  test('a declined payment whose inventory release fails once: compensation failed, waiting, the operator, resolved, compensated', async () => {
    const taskQueue = `domain-events-${randomUUID()}`;
    const worker = await mockWorker(env, taskQueue, participants({ calls: 1 }));
    const order = input('tok_declined');
    const workflowId = orderWorkflowId(order.orderId);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof orderSaga>(ORDER_SAGA, {
        taskQueue,
        workflowId,
        args: [order],
      });
      for (let i = 0; i < 200; i++) {
        if (((await handle.query(getStateQuery)) as OrderState).status === SagaStatus.FAILED) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // The stream is complete while the saga waits for the operator.
      expect((appendedEvents.get(workflowId) ?? []).at(-1)?.type).toBe('WaitingForOperator');
      await handle.signal(retryCompensationSignal, { by: 'ops@example.com', byKind: 'api-key', reason: 'Fixed it' });
      expect((await sagaResult(handle)).status).toBe(SagaStatus.COMPENSATED);
    });
    const events = appendedEvents.get(workflowId) ?? [];
    expect(events.map((e) => [e.type, 'step' in e.data ? e.data.step : undefined])).toEqual([
      ['SagaStarted', undefined],
      ['StepCompleted', 'priceOrder'],
      ['SagaTotalSet', undefined],
      ['StepCompleted', 'reserveCredit'],
      ['StepCompleted', 'reserveInventory'],
      ['StepFailed', 'processPayment'],
      ['CompensationStarted', undefined],
      ['CompensationCompleted', 'processPayment'],
      ['CompensationFailed', 'reserveInventory'],
      ['WaitingForOperator', 'reserveInventory'],
      ['OperatorActionRecorded', undefined],
      ['OperatorResolved', 'reserveInventory'],
      ['CompensationCompleted', 'reserveInventory'],
      ['CompensationCompleted', 'reserveCredit'],
      ['SagaCompensated', undefined],
    ]);
    expect(events.find((e) => e.type === 'StepFailed')?.data).toMatchObject({ failureType: 'PaymentDeclined' });
    expect(events.find((e) => e.type === 'OperatorActionRecorded')?.data).toEqual({
      action: 'retry-compensation',
      byKind: 'api-key',
    });
    expectWellFormed(workflowId, events);
    expect(JSON.stringify(events)).not.toContain('ops@example.com');
  });
});

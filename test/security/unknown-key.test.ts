/**
 * A payload under a key the worker does not have (docs/security.md, "A payload whose key is unknown"): the workflow
 * task fails with the codec's error naming the key id (recorded encrypted, like every failure) and is retried; the
 * worker neither crashes nor runs the saga on garbage, and goes on serving other sagas.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { sagaDataConverter } from '../../codec/data-converter';
import { ORDER_SAGA, orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { addVehicle, orderBody, seed, type Seeded } from '../support/fixtures';
import { decodePayload, http, startHarness, waitForSaga, type Harness } from '../support/harness';

let h: Harness;
let s: Seeded;
beforeAll(async () => {
  h = await startHarness('unknown_key');
  await addVehicle(h, 100);
  s = await seed(h, { creditLimit: 10_000 });
});
afterAll(async () => h?.stop());

test('a saga whose input is under an unknown key id: its workflow task fails naming the key id, the worker goes on', async () => {
  const otherRing = { current: 'retired-key-9', keys: new Map([['retired-key-9', new Uint8Array(randomBytes(32))]]) };
  const stranger = new Client({ connection: h.client.connection, dataConverter: sagaDataConverter(otherRing) });
  const body = orderBody(s);
  const handle = await stranger.workflow.start(ORDER_SAGA, {
    taskQueue: h.taskQueue,
    workflowId: orderWorkflowId(body.orderId),
    args: [body],
  });
  try {
    let failure: temporal.api.failure.v1.IFailure | null | undefined;
    for (let i = 0; !failure; i++) {
      if (i > 100) throw new Error('no WorkflowTaskFailed event within 20 s');
      const events = (await h.client.workflow.getHandle(handle.workflowId).fetchHistory()).events ?? [];
      failure = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure;
      if (!failure) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // recorded as an encoded failure, encrypted under the worker's own key: readable through its codec
    expect(failure.message).toBe('Encoded failure');
    const attributes = (await decodePayload(failure.encodedAttributes!)) as { message: string };
    expect(attributes.message).toMatch(/key id 'retired-key-9'/);
    expect(h.worker.getState()).toBe('RUNNING');

    // the worker still serves every other saga
    const ok = orderBody(s);
    expect((await http(h.baseUrl, 'POST', '/orders', ok)).status).toBe(202);
    const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(ok.orderId)));
    expect(state.status).toBe(SagaStatus.COMPLETED);
    const description = await h.client.workflow.getHandle(handle.workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
  } finally {
    await h.client.workflow
      .getHandle(handle.workflowId)
      .terminate('test done')
      .catch(() => undefined);
  }
});

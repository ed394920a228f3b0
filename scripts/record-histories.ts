/**
 * `npm run record-histories [-- [--overwrite] [--list] [--out DIR] [scenario...]]`: runs representative sagas
 * against a throwaway Temporal dev server and FerretDB it starts itself, and writes each saga's event history as
 * JSON to `test/histories/<scenario>.json`, listed with its real workflow id in `test/histories/index.json`.
 * `test/replay/replay.test.ts` replays every one of them against the current workflow code.
 *
 * - No scenario names: every scenario below. With names: only those (e.g. the one a `patched()` change adds).
 * - A history already on disk is kept unless `--overwrite` is given: the recorded files are the "before" side of
 *   every workflow change, and re-recording them from new code would hide exactly the runs a change must still
 *   replay. Record a new scenario instead (see `docs/versioning.md`).
 * - `--list` prints the scenarios and exits; `--out DIR` writes somewhere else than test/histories/ (a trial run).
 *
 * To add a scenario, add an entry to `scenarios`: arrange data through the API, register fault rules for its
 * workflow id if it needs them, start the saga, drive it (signals, cancel), and return its handle once it is closed
 * or waiting as it should. The recorder (scripts/lib/history-recorder.ts) checks the final saga status it declares.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import {
  cancelRequestedSignal,
  getStateQuery,
  retryCompensationSignal,
  skipCompensationSignal,
} from '../common/definitions';
import { orderWorkflowId, type OrderSagaInput, type OrderState } from '../common/order';
import type { OperatorActor } from '../common/operator-action';
import { SagaStatus } from '../common/saga-state';
import { Gate } from '../test/support/saga-hooks';
import { historiesDir, recordHistories, runToEnd, type RecordContext, type Scenario } from './lib/history-recorder';
import { transportAndLoyaltyScenarios } from './record-histories-transport';
import { TRANSPORT_ORDER } from '../common/transport';
import { readShippedConfig } from './lib/shipped-config';
import { SagaType } from '../common/domain-events';
import { fulfilmentScenarios } from './record-histories-fulfilment';
import { sagaResult } from '../common/saga-result';
import { pollUntil, withTimeout } from './lib/wait';

const log = (message: string) => process.stderr.write(`record-histories: ${message}\n`);

/**
 * A `retryCompensation` sent while nothing has failed yet: processPayment is held by a gate, the signal is sent and
 * handled by a workflow task, then the payment is declined and releaseInventory fails non-retryably once. Returns
 * once the saga has either retried that compensation at once (COMPENSATED: the stray signal was remembered) or gone
 * FAILED to wait for an operator (the stray signal was ignored), whichever the workflow code does.
 */
async function strayRetrySignal(
  ctx: RecordContext,
  name: string,
): Promise<{ handle: WorkflowHandle; waited: boolean }> {
  const gate = new Gate();
  const input = ctx.order(await ctx.seed('a'), { token: 'tok_declined' });
  const workflowId = orderWorkflowId(input.orderId);
  ctx.hooks.add({ activity: 'processPayment', workflowId, gate });
  ctx.hooks.add({ activity: 'releaseInventory', workflowId, fatal: 'always', firstCalls: 1 });
  const handle = await ctx.start(input);
  await withTimeout(gate.entered, 30_000, `${name}: processPayment never started`);
  await handle.signal(retryCompensationSignal);
  // Let the saga handle the signal while it is RUNNING, in a workflow task of its own, before the payment fails.
  for (let handled = false; !handled;) {
    const events = (await handle.fetchHistory()).events ?? [];
    const signalled = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
    handled = signalled >= 0 && events.slice(signalled).some((e) => e.workflowTaskCompletedEventAttributes);
    if (!handled) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  gate.release();
  const state = await ctx.waitForStatus(handle, [SagaStatus.FAILED, SagaStatus.COMPENSATED]);
  return { handle, waited: state.status === SagaStatus.FAILED };
}

/**
 * processPayment is declined, releaseInventory fails non-retryably once, the saga goes FAILED and waits; then an
 * operator's retryCompensation (with `actor` when given, as the API sends it; without, as the CLI does) lets the
 * compensations finish.
 */
async function failedThenRetried(ctx: RecordContext, ...actor: [] | [OperatorActor]): Promise<WorkflowHandle> {
  const input = ctx.order(await ctx.seed('a'), { token: 'tok_declined' });
  ctx.hooks.add({
    activity: 'releaseInventory',
    workflowId: orderWorkflowId(input.orderId),
    fatal: 'always',
    firstCalls: 1,
  });
  const handle = await ctx.start(input);
  await ctx.waitForStatus(handle, [SagaStatus.FAILED]);
  await handle.signal(retryCompensationSignal, ...actor);
  await sagaResult(handle);
  return handle;
}

/** The shipped stored configuration of a one-task order saga. */
const oneTaskConfig = (): unknown => readShippedConfig(SagaType.order, 'one-task');

/**
 * Stores `config` for order sagas, starts `input`, and puts an empty version back as soon as the saga has read its
 * own (the stored version is in force for every order started meanwhile); returns once the saga has ended.
 */
async function runWithStoredConfig(
  ctx: RecordContext,
  config: unknown,
  input: OrderSagaInput,
): Promise<WorkflowHandle> {
  await ctx.api('PUT', '/saga-config/order', config, 200);
  const handle = await ctx.start(input);
  await pollUntil(
    `${handle.workflowId} read its configuration`,
    () => handle.query(getStateQuery) as Promise<OrderState>,
    (state) => state.configVersion !== null,
  );
  await ctx.api('PUT', '/saga-config/order', {}, 200);
  await sagaResult(handle);
  return handle;
}

// -----------------------------------------------------------------------------------------------------------------
// The scenarios. Names become file names: keep them stable, add new ones rather than changing old ones.
// -----------------------------------------------------------------------------------------------------------------

const scenarios: Record<string, Scenario> = {
  completed: {
    description: 'Every step succeeds: priced, credit, stock, payment, shipment, vehicle.',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { quantity: 3 })),
  },
  // Recorded with encryption on (test/replay/payload-keys.test-only.json): every payload and failure message in
  // them is ciphertext, and the replay test decrypts them with that test-only key.
  'completed-encrypted': {
    description: 'Every step succeeds, payloads encrypted with the test-only key (AES-256-GCM payload codec).',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'))),
  },
  'failed-at-process-payment-encrypted': {
    description:
      'processPayment is declined; payloads and failure messages encrypted with the test-only key, compensations run.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { token: 'tok_declined' })),
  },
  // Recorded with domain events (patched('domain-events')): the appendDomainEvents local activity after each transition.
  'domain-events-completed-encrypted': {
    description: 'Every step succeeds, with the domain events appended after each transition (encrypted).',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'))),
  },
  'domain-events-compensated-encrypted': {
    description: 'processPayment is declined and the compensations run, with their domain events (encrypted).',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { token: 'tok_declined' })),
  },
  'failed-at-reserve-credit': {
    description: 'reserveCredit fails with InsufficientCredit; nothing before it to undo but the credit hold.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a', { creditLimit: 5, price: 10 }))),
  },
  'failed-at-reserve-inventory': {
    description: 'reserveInventory fails with OutOfStock; stock and credit are released in reverse order.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a', { stock: 1 }), { quantity: 2 })),
  },
  'failed-at-process-payment': {
    description: 'processPayment fails with PaymentDeclined (tok_declined); payment, stock, credit undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { token: 'tok_declined' })),
  },
  'failed-at-create-shipment': {
    description: 'createShipment fails with ShipmentRejected (country AQ is not served); four steps undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { country: 'AQ' })),
  },
  'failed-at-reserve-vehicle': {
    description: 'reserveVehicle fails with NoVehicleAvailable (a first order took the only van that day).',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const first = await runToEnd(ctx, ctx.order(await ctx.seed('first'), { orderId: `history-${name}-first` }));
      const firstState = (await first.query(getStateQuery)) as OrderState;
      if (firstState.status !== SagaStatus.COMPLETED) throw new Error(`the first order ended ${firstState.status}`);
      return runToEnd(ctx, ctx.order(await ctx.seed('a')));
    },
  },
  cancelled: {
    description:
      'Cancelled while processPayment is running (held by a gate); credit and stock released, the late ' +
      'payment refunded by its tombstone, and the run closes as cancelled.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const gate = new Gate();
      const input = ctx.order(await ctx.seed('a'));
      ctx.hooks.add({ activity: 'processPayment', workflowId: orderWorkflowId(input.orderId), gate });
      const handle = await ctx.start(input);
      await withTimeout(gate.entered, 30_000, `${name}: processPayment never started`);
      await handle.cancel();
      await handle.result().catch(() => undefined);
      gate.release(); // the held attempt now runs after its compensation: the tombstone keeps it from charging
      return handle;
    },
  },
  'compensation-retried': {
    description:
      'processPayment is declined; releaseCredit fails twice with a transient error and succeeds on its third ' +
      'attempt under the compensation retry policy.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => {
      const input = ctx.order(await ctx.seed('a'), { token: 'tok_declined' });
      ctx.hooks.add({ activity: 'releaseCredit', workflowId: orderWorkflowId(input.orderId), fail: 2 });
      return runToEnd(ctx, input);
    },
  },
  'compensation-failed-then-operator-retry': {
    description:
      'processPayment is declined; releaseInventory fails non-retryably, the saga goes FAILED and waits; an ' +
      'operator sends retryCompensation and the compensations finish.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => {
      return failedThenRetried(ctx);
    },
  },
  'stray-retry-signal-remembered': {
    description:
      "Before patched('retry-compensation-only-when-failed'): retryCompensation is sent while processPayment runs " +
      '(nothing failed yet) and remembered; the payment is declined, releaseInventory fails non-retryably and is ' +
      'retried at once, with no operator.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const { handle, waited } = await strayRetrySignal(ctx, name);
      if (waited) throw new Error(`${name}: the saga ignored the stray signal; record this with the code before it`);
      await sagaResult(handle);
      return handle;
    },
  },
  'stray-retry-signal-ignored': {
    description:
      "After patched('retry-compensation-only-when-failed'): retryCompensation is sent while processPayment runs " +
      '(nothing failed yet) and ignored; the payment is declined, releaseInventory fails non-retryably, the saga ' +
      "goes FAILED and waits; only the operator's later retryCompensation retries it, and the compensations finish.",
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const { handle, waited } = await strayRetrySignal(ctx, name);
      if (!waited) throw new Error(`${name}: the stray signal was remembered; record this with the patched code`);
      await handle.signal(retryCompensationSignal);
      await sagaResult(handle);
      return handle;
    },
  },
  // After patched('local-participant-calls'): the steps run as local activities (MarkerRecorded events), except
  // processPayment; the compensations stay regular activities.
  'completed-local-activities': {
    description:
      "After patched('local-participant-calls'): every step succeeds, all but processPayment as local activities; " +
      'then the loyalty signal.',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'))),
  },
  'payment-declined-local-activities': {
    description:
      "After patched('local-participant-calls'): price, credit, stock as local activities, then processPayment " +
      '(regular) fails with PaymentDeclined; payment, stock, credit undone by regular activities.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { token: 'tok_declined' })),
  },
  // Audited operator actions: the actor travels in a signal's argument (the state records it; no command changes).
  'cancelled-by-operator': {
    description:
      'As `cancelled`, the way the API cancels: cancelRequested with the actor and a reason, then the cancel ' +
      'request, while processPayment runs; the state records the cancel by that actor.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const gate = new Gate();
      const input = ctx.order(await ctx.seed('a'));
      ctx.hooks.add({ activity: 'processPayment', workflowId: orderWorkflowId(input.orderId), gate });
      const handle = await ctx.start(input);
      await withTimeout(gate.entered, 30_000, `${name}: processPayment never started`);
      await handle.signal(cancelRequestedSignal, { by: 'history-operator', byKind: 'api-key', reason: 'recorded' });
      await handle.cancel();
      await handle.result().catch(() => undefined);
      gate.release();
      return handle;
    },
  },
  'operator-retry-with-actor': {
    description:
      'As `compensation-failed-then-operator-retry`, with the actor and a reason in the retryCompensation signal ' +
      'the API sends; the state records the retry by that actor.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => {
      return failedThenRetried(ctx, { by: 'history-operator', byKind: 'jwt', reason: 'fixed' });
    },
  },
  // After patched('carrier-choice'), with CARRIER=broker: chooseCarrier (a local activity) at the start, then
  // createShipment and cancelShipment as commands to the carrier over RabbitMQ, completed by its replies.
  'completed-broker-carrier': {
    description:
      "After patched('carrier-choice'), CARRIER=broker: the carrier chosen at the start, createShipment by " +
      "command over RabbitMQ completed by the carrier's reply; every step succeeds.",
    sagaStatus: SagaStatus.COMPLETED,
    carrier: 'broker',
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'))),
  },
  'shipment-rejected-broker-carrier': {
    description:
      "After patched('carrier-choice'), CARRIER=broker: the carrier refuses the shipment (country AQ) in its " +
      'reply, a ShipmentRejected failure; cancelShipment by command, then payment, stock and credit undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    carrier: 'broker',
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { country: 'AQ' })),
  },
  // Recorded with the order saga built from its definition (workflows/definitions/order-saga.ts, run by
  // workflows/saga/run-definition.ts): the same commands as the hand-written saga, so these and every history above
  // replay on the same code.
  'definition-order-completed': {
    description:
      'The order saga built from its definition: every step succeeds (local calls, domain events), then the loyalty signal.',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { quantity: 2 })),
  },
  'definition-order-failed-at-reserve-vehicle': {
    description:
      'The order saga built from its definition: reserveVehicle fails with NoVehicleAvailable; shipment, payment, stock, credit undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const first = await runToEnd(ctx, ctx.order(await ctx.seed('first'), { orderId: `history-${name}-first` }));
      const firstState = (await first.query(getStateQuery)) as OrderState;
      if (firstState.status !== SagaStatus.COMPLETED) throw new Error(`the first order ended ${firstState.status}`);
      return runToEnd(ctx, ctx.order(await ctx.seed('a')));
    },
  },
  'definition-order-operator-retry': {
    description:
      'The order saga built from its definition: processPayment is declined, releaseInventory fails once, FAILED; ' +
      "the operator's retryCompensation (with its actor) lets the compensations finish.",
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => failedThenRetried(ctx, { by: 'history-operator', byKind: 'api-key', reason: 'fixed' }),
  },
  // The operator resolved a failed compensation by hand (skipCompensation, with its actor and reason).
  'operator-skip-compensation': {
    description:
      'processPayment is declined; releaseInventory keeps failing, FAILED; the operator skips it with a reason ' +
      '(skipCompensation with the actor), the step is COMPENSATION_SKIPPED and releaseCredit runs.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => {
      const input = ctx.order(await ctx.seed('a'), { token: 'tok_declined' });
      ctx.hooks.add({ activity: 'releaseInventory', workflowId: orderWorkflowId(input.orderId), fatal: 'always' });
      const handle = await ctx.start(input);
      await ctx.waitForStatus(handle, [SagaStatus.FAILED]);
      await handle.signal(skipCompensationSignal, {
        by: 'history-operator',
        byKind: 'api-key',
        reason: 'stock put back by hand',
      });
      await sagaResult(handle);
      return handle;
    },
  },
  // After patched('compensated-closes-failed'): the compensated run closes as failed (SagaCompensated).
  'compensated-closes-failed': {
    description:
      "After patched('compensated-closes-failed'): processPayment is declined, payment, stock and credit undone, " +
      'and the run closes as failed with a SagaCompensated failure carrying the final state.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) => runToEnd(ctx, ctx.order(await ctx.seed('a'), { token: 'tok_declined' })),
  },
  // After patched('saga-config'): the saga reads its type's stored configuration at its start (readSagaConfig, a
  // local activity after chooseCarrier) and runs with it. The stored version is in force for every order started
  // meanwhile, so the scenario puts an empty version back as soon as its saga has read its own.
  'definition-order-stored-config': {
    description:
      "After patched('saga-config'): a stored configuration switches reserveVehicle to a regular activity (7 s, 3 " +
      'attempts) and processPayment to a local one; the saga reads it at its start (configVersion 1) and completes.',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) =>
      runWithStoredConfig(
        ctx,
        {
          steps: {
            reserveVehicle: { mode: 'regular', startToCloseTimeoutMs: 7_000, retry: { maximumAttempts: 3 } },
            processPayment: { mode: 'local' },
          },
        },
        ctx.order(await ctx.seed('a')),
      ),
  },
  // After patched('loyalty-in-task'), with the shipped config/saga-config/order-one-task.json (processPayment local):
  // a saga that succeeds is one workflow task, the loyalty notification a local activity beside the last append.
  'one-task-completed': {
    description:
      "After patched('loyalty-in-task'), with config/saga-config/order-one-task.json: every step a local activity, " +
      'the loyalty notification a local activity in the same last workflow task; one workflow task in all.',
    sagaStatus: SagaStatus.COMPLETED,
    run: async (ctx) => runWithStoredConfig(ctx, oneTaskConfig(), ctx.order(await ctx.seed('a'))),
  },
  'one-task-payment-declined': {
    description:
      "After patched('loyalty-in-task'), with config/saga-config/order-one-task.json: processPayment, a local " +
      'activity, is declined; stock and credit undone by regular compensations; no loyalty notification.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx) =>
      runWithStoredConfig(ctx, oneTaskConfig(), ctx.order(await ctx.seed('a'), { token: 'tok_declined' })),
  },
  // A local step's failure that the SDK records in its marker as a bare timeout or cancellation (docs/failure-matrix.md,
  // "What it found"): the replay must compensate as the first run did.
  'definition-order-local-step-timed-out': {
    description:
      'The order saga built from its definition: every attempt of reserveCredit (a local activity) outlasts its 10 s ' +
      'start-to-close timeout until its attempts run out (Timeout); credit undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    timeoutMs: 300_000, // 8 attempts of 10 s and their backoff
    run: async (ctx) => {
      const input = ctx.order(await ctx.seed('a'));
      ctx.hooks.add({ activity: 'reserveCredit', workflowId: orderWorkflowId(input.orderId), delayMs: 10_500 });
      return runToEnd(ctx, input);
    },
  },
  'definition-order-local-step-cancelled': {
    description:
      'The order saga built from its definition: cancelled through the API while reserveCredit (a local activity) is ' +
      'held; the call let go once the saga saw the cancellation; credit undone.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: async (ctx, name) => {
      const gate = new Gate();
      const input = ctx.order(await ctx.seed('a'));
      ctx.hooks.add({ activity: 'reserveCredit', workflowId: orderWorkflowId(input.orderId), gate });
      const handle = await ctx.start(input);
      await withTimeout(gate.entered, 30_000, `${name}: reserveCredit never started`);
      // The API reads the state first: while the local call holds the workflow task a read can time out (503).
      for (let attempt = 1; ; attempt++) {
        const accepted = await ctx.api('POST', `/orders/${input.orderId}/cancel`, undefined, 202).then(
          () => true,
          (err: unknown) => {
            if (attempt === 10) throw err;
            return false;
          },
        );
        if (accepted) break;
      }
      // Held until the saga saw the cancellation (a local step: at its workflow task's next heartbeat).
      for (let seen = false; !seen;) {
        const state = (await handle.query(getStateQuery)) as OrderState;
        seen = state.cancelled || state.status !== SagaStatus.RUNNING;
        if (!seen) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      gate.release();
      await handle.result().catch(() => undefined);
      return handle;
    },
  },
  // After patched('domain-events-per-task'): the events of local steps held and appended in one batch where the
  // saga next waits on something else (workflows/saga/domain-events.ts). Each runs an earlier scenario again.
  'events-per-task-completed': {
    description:
      "After patched('domain-events-per-task'): every step succeeds; the domain events appended in two batches, " +
      'before processPayment (a regular activity) and at the end.',
    sagaStatus: SagaStatus.COMPLETED,
    run: (ctx, name) => scenarios['completed']!.run(ctx, name),
  },
  'events-per-task-one-task-completed': {
    description:
      "After patched('domain-events-per-task'), with config/saga-config/order-one-task.json: one workflow task, " +
      'one batch of domain events at the end, beside the loyalty notification.',
    sagaStatus: SagaStatus.COMPLETED,
    run: (ctx, name) => scenarios['one-task-completed']!.run(ctx, name),
  },
  'events-per-task-payment-declined': {
    description:
      "After patched('domain-events-per-task'): processPayment is declined; a batch before it, one before each " +
      'compensation, one at the end.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: (ctx, name) => scenarios['compensated-closes-failed']!.run(ctx, name),
  },
  'events-per-task-cancelled-by-operator': {
    description:
      "After patched('domain-events-per-task'): cancelled by an operator while processPayment runs; the operator " +
      "action's event appended from the handler.",
    sagaStatus: SagaStatus.COMPENSATED,
    run: (ctx, name) => scenarios['cancelled-by-operator']!.run(ctx, name),
  },
  'events-per-task-operator-skip': {
    description:
      "After patched('domain-events-per-task'): releaseInventory keeps failing, FAILED; the operator skips it; the " +
      'events of the wait, the skip and the rest of the compensation in their batches.',
    sagaStatus: SagaStatus.COMPENSATED,
    run: (ctx, name) => scenarios['operator-skip-compensation']!.run(ctx, name),
  },
  'events-per-task-transport-approved-by-update': {
    description:
      "After patched('domain-events-per-task'): the transport order approved by the decide update; the update's " +
      'events appended after its answer (the 1 ms timer), in one batch.',
    sagaStatus: SagaStatus.COMPLETED,
    workflowType: TRANSPORT_ORDER,
    run: (ctx, name) => scenarios['definition-transport-approved-by-update']!.run(ctx, name),
  },
  // The transport order and customer loyalty sagas (scripts/record-histories-transport.ts).
  ...transportAndLoyaltyScenarios,
  // The order-fulfilment saga, built from its definition only (scripts/record-histories-fulfilment.ts).
  ...fulfilmentScenarios,
};

// -----------------------------------------------------------------------------------------------------------------
// The command line
// -----------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { overwrite: { type: 'boolean' }, list: { type: 'boolean' }, out: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.list) {
    for (const [name, scenario] of Object.entries(scenarios)) console.log(`${name}\t${scenario.description}`);
    return;
  }
  const unknown = positionals.filter((n) => !(n in scenarios));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);
  }
  const outDir = values.out === undefined ? historiesDir : path.resolve(values.out);
  const todo = (positionals.length > 0 ? positionals : Object.keys(scenarios)).filter((name) => {
    if (values.overwrite || !fs.existsSync(path.join(outDir, `${name}.json`))) return true;
    log(`${name}: ${path.join(outDir, name)}.json exists, kept (--overwrite to re-record it)`);
    return false;
  });
  if (todo.length === 0) {
    log('nothing to record');
    return;
  }
  await recordHistories(scenarios, todo, outDir);
}

main().catch((err) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

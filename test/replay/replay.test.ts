/**
 * Every history recorded by `npm run record-histories` (test/histories/) must replay against the current workflow
 * code: a change to the order saga that would break sagas already running fails here, before it is deployed.
 * See docs/versioning.md for how to make such a change safely (`patched()`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type ReplayWorkerOptions } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DeterminismViolationError } from '@temporalio/workflow';
import { ORDER_SAGA } from '../../common/order';
import { historiesKeyRing, type HistoryIndexEntry } from '../../scripts/lib/history-recorder';
import { failureConverterPath, sagaDataConverter } from '../../codec/data-converter';
import { workflowsPath } from '../../workers/create-worker';
import { tracingWorkflowModules } from '../../workers/interceptors/tracing';
import { requireEnv } from '../support/harness';

const historiesDir = path.join(__dirname, '..', 'histories');
const index = JSON.parse(fs.readFileSync(path.join(historiesDir, 'index.json'), 'utf8')) as Record<
  string,
  HistoryIndexEntry
>;
const entries = Object.entries(index).map(([name, entry]) => ({ name, ...entry }));
/**
 * The replayer decodes with the test-only key ring the recorder encrypts with: histories recorded with encryption
 * decrypt, those recorded before it pass through the codec unchanged.
 */
const dataConverter = sagaDataConverter(historiesKeyRing());
const encryptedEntries = entries.filter((e) => e.name.endsWith('-encrypted'));

function loadHistory(file: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(historiesDir, file), 'utf8'));
}

/** Whether the history ran the appendDomainEvents local activity (recorded with patched('domain-events')). */
function recordedWithDomainEvents(file: string): boolean {
  const events = historyFromJSON(loadHistory(file)).events ?? [];
  return events.some((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_local_activity' ? marker.details?.['data']?.payloads?.[0]?.data : null;
    if (!data) return false;
    return (
      (JSON.parse(Buffer.from(data).toString()) as { activity_type?: unknown }).activity_type === 'appendDomainEvents'
    );
  });
}

/** Replays every recorded history on one replay worker; returns each one's error (undefined when clean). */
async function replayAll(options: ReplayWorkerOptions, which = entries): Promise<Map<string, Error | undefined>> {
  const byWorkflowId = new Map<string, Error | undefined>();
  const histories = which.map(({ file, workflowId }) => ({ workflowId, history: loadHistory(file) }));
  for await (const result of Worker.runReplayHistories(options, histories)) {
    byWorkflowId.set(result.workflowId, result.error);
  }
  return byWorkflowId;
}

beforeAll(() => {
  // Replay workers log each non-determinism they find as a warning; the tests below assert on the results.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
  });
});

describe('recorded histories', () => {
  test('the index lists every recorded history file, and every listed file exists', () => {
    const files = fs
      .readdirSync(historiesDir)
      .filter((f) => f.endsWith('.json') && f !== 'index.json')
      .sort();
    expect(entries.map((e) => e.file).sort()).toEqual(files);
    expect(entries.length).toBeGreaterThanOrEqual(8);
  });

  describe("replay clean against the current workflow code (the bundle the tests' workers run)", () => {
    let results: Map<string, Error | undefined>;
    beforeAll(async () => {
      results = await replayAll({ workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') }, dataConverter });
    });

    test.each(entries)('$name ($workflowId)', ({ workflowId }) => {
      expect(results.has(workflowId)).toBe(true);
      expect(results.get(workflowId)).toBeUndefined();
    });
  });

  // Tracing on (the OTEL_* variables) bundles Temporal's OpenTelemetry workflow interceptors in and makes the
  // compensation engine's step spans real: neither issues a command, so sagas recorded without tracing replay the
  // same with it (and test/observability/tracing.test.ts replays a traced saga without it).
  describe('replay clean with the tracing interceptors bundled in (a worker with tracing on)', () => {
    let results: Map<string, Error | undefined>;
    beforeAll(async () => {
      const { code } = await bundleWorkflowCode({
        workflowsPath,
        failureConverterPath,
        workflowInterceptorModules: [...tracingWorkflowModules],
        logger: new DefaultLogger('ERROR'),
      });
      results = await replayAll({ workflowBundle: { code }, dataConverter });
    }, 120_000);

    test.each(entries)('$name ($workflowId)', ({ workflowId }) => {
      expect(results.has(workflowId)).toBe(true);
      expect(results.get(workflowId)).toBeUndefined();
    });
  });

  test('a variant of the saga that runs its steps in another order is rejected by the replayer', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('./fixtures/reordered-order-saga'),
      logger: new DefaultLogger('ERROR'),
    });
    const orderSagas = entries.filter((e) => e.workflowType === ORDER_SAGA);
    const results = await replayAll({ workflowBundle: { code }, dataConverter }, orderSagas);

    // Every history that got past priceOrder scheduled reserveCredit where the variant schedules reserveInventory.
    expect(orderSagas.length).toBeGreaterThanOrEqual(8);
    expect([...results.keys()].sort()).toEqual(orderSagas.map((e) => e.workflowId).sort());
    // Every one of them must FAIL replay with a nondeterminism error; none is skipped. Those recorded without
    // domain events fail naming the swapped step. Those recorded with them (patched('domain-events')) fail just as
    // surely but the error names no step: there each step's marker is followed by appendDomainEvents markers
    // (local activities share one sequence), and the core reports the first local-activity marker it has no
    // command for ("Missing associated machine for LocalActivity(5)"), not the activity type. A legitimately
    // different message for the same failure, so for those the assertion accepts it. Those recorded with the
    // carrier choice (patched('carrier-choice'), which the variant predates) fail earlier still, on that marker.
    const withDomainEvents = new Set(
      orderSagas.filter((e) => recordedWithDomainEvents(e.file)).map((e) => e.workflowId),
    );
    expect(withDomainEvents.size).toBeGreaterThanOrEqual(2);
    for (const [workflowId, error] of results) {
      expect({ workflowId, error }).toEqual({ workflowId, error: expect.any(DeterminismViolationError) });
      expect({ workflowId, message: error?.message }).toEqual({
        workflowId,
        message: withDomainEvents.has(workflowId)
          ? expect.stringMatching(
              /Nondeterminism error: .*(LocalActivity|reserveCredit|reserveInventory|change carrier-choice)/,
            )
          : expect.stringMatching(/reserveCredit|reserveInventory/),
      });
    }
    // And the single-history API says so by throwing.
    const completed = orderSagas.find((e) => e.name === 'completed')!;
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { code }, dataConverter },
        loadHistory(completed.file),
        completed.workflowId,
      ),
    ).rejects.toThrow(DeterminismViolationError);
  });

  test("since patched('compensated-closes-failed') a compensated run closes failed with SagaCompensated; before it, completed", () => {
    const last = (file: string) => (historyFromJSON(loadHistory(file)).events ?? []).at(-1);
    const closed = last('compensated-closes-failed.json')?.workflowExecutionFailedEventAttributes;
    expect(closed?.failure?.applicationFailureInfo).toMatchObject({ type: 'SagaCompensated', nonRetryable: true });
    expect(last('failed-at-process-payment.json')?.workflowExecutionCompletedEventAttributes).toBeTruthy();
  });

  test('histories with audited operator actions hold the actor in the signal, only as ciphertext', async () => {
    const expected = {
      'cancelled-by-operator': ['cancelRequested', { by: 'history-operator', byKind: 'api-key', reason: 'recorded' }],
      'operator-retry-with-actor': ['retryCompensation', { by: 'history-operator', byKind: 'jwt', reason: 'fixed' }],
    } as const;
    const [codec] = dataConverter.payloadCodecs ?? [];
    for (const [name, [signalName, actor]] of Object.entries(expected)) {
      const entry = entries.find((e) => e.name === name)!;
      // (the name is also in the workflow id; the argument's field names are only in the encrypted payload)
      expect(fs.readFileSync(path.join(historiesDir, entry.file), 'utf8')).not.toMatch(/byKind|eyJieUtpbmQ/);
      const events = historyFromJSON(loadHistory(entry.file)).events ?? [];
      const signal = events.find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === signalName);
      const [payload] = await codec!.decode(signal?.workflowExecutionSignaledEventAttributes?.input?.payloads ?? []);
      expect({ name, arg: defaultPayloadConverter.fromPayload(payload!) }).toEqual({ name, arg: actor });
    }
  });

  describe('histories recorded with encryption on', () => {
    test('exist, and hold their input and failures only as ciphertext', () => {
      expect(encryptedEntries.map((e) => e.name).sort()).toEqual([
        'completed-encrypted',
        'domain-events-compensated-encrypted',
        'domain-events-completed-encrypted',
        'domain-events-transport-approved-by-update-encrypted',
        'failed-at-process-payment-encrypted',
      ]);
      for (const { file } of encryptedEntries) {
        const text = fs.readFileSync(path.join(historiesDir, file), 'utf8');
        // the order's address and token as the recorder wrote them (failure *types* stay plain: docs/security.md)
        expect(text).not.toMatch(/Dublin|Main Street|D01 F5P2|tok_/);
        expect(text).toContain(Buffer.from('binary/encrypted').toString('base64'));
        // workflow and activity summaries are payloads (userMetadata) and pass through the codec too
        const events = (
          JSON.parse(text) as { events: { userMetadata?: { summary?: { metadata: { encoding: string } } } }[] }
        ).events;
        const summaries = events.flatMap((e) => (e.userMetadata?.summary ? [e.userMetadata.summary] : []));
        expect(summaries.length).toBeGreaterThan(3);
        for (const summary of summaries) {
          expect(Buffer.from(summary.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
        }
      }
    });

    test('without their key, replay fails: the workflow task fails (its failure encrypted like any other)', async () => {
      const otherRing = { current: 'other', keys: new Map([['other', new Uint8Array(32)]]) };
      const completed = encryptedEntries.find((e) => e.name === 'completed-encrypted')!;
      const replay = Worker.runReplayHistory(
        {
          workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') },
          dataConverter: sagaDataConverter(otherRing),
        },
        loadHistory(completed.file),
        completed.workflowId,
      );
      // The codec's error names the key id (test/codec/aes-gcm-codec.test.ts); the worker logs it and fails the
      // workflow task with it, encoded and encrypted under its own current key like every failure.
      await expect(replay).rejects.toThrow(/workflow task failure.*Encoded failure/);
    });
  });
});

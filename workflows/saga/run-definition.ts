/**
 * The interpreter: runs a saga definition (`definition.ts`) on the one compensation engine (`compensation-stack.ts`).
 *
 *   resolve call modes (patch gate) ─▶ CustomerId ─▶ Saga (state, handlers, approvals)
 *     ─▶ for each node: step | parallel group (joined) | approval wait ─▶ COMPLETED ─▶ afterCompleted (if patched)
 *                             │ a failure or a cancellation
 *                             ▼
 *                 the engine compensates the started steps in reverse order ─▶ COMPENSATED
 *
 * It issues exactly the commands, in exactly the order, that the hand-written order saga and transport order issued
 * before they became definitions: every `patched()` in the same place (`localCallsPatch` first of all, the engine's
 * own in the engine, `afterCompleted.patch` after completion), the same activities with the same options, the same
 * search attribute updates. So every history recorded before replays unchanged on the same workflow types
 * (`test/replay`); see docs/sagas.md, "Definitions".
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { Attempted } from '../../common/attempted';
import { SagaStatus, type SagaState } from '../../common/saga-state';
import { CustomerIdKey } from '../../common/search-attributes';
import type { ApprovalFields } from '../../common/approval';
import type { CompensationOutcome } from '../../common/attempted';
import { CancelledBy, type CancellationFields, type SagaCancellation } from '../../common/cancellation';
import { BusinessFailure, type OutOfStockDetail } from '../../common/failures';
import { ActorKind, OperatorActionName } from '../../common/operator-action';
import { Saga, waitFor, type Invocation, type StepSpec } from './compensation-stack';
import { registerApproval, type Approval } from './approval';
import type {
  AnyContext,
  CallMode,
  CallNode,
  CompensationNode,
  OnCancelled,
  SagaDefinition,
  StepNode,
} from './definition';
import { callPresets, configurationCall, type CallPreset } from './policies';
import { presetSettings, recordedConfig, stepSettings, waitDeadlineMs, withSettings } from './config';
import { SAGA_CONFIG_CHOICE, type SagaConfigChoice, type StepSettings } from '../../common/saga-config';

interface Executable {
  executeWithOptions(options: { summary?: string }, args: unknown[]): Promise<Attempted<unknown>>;
}
type Proxy = Record<string, Executable & ((arg: unknown) => Promise<unknown>)>;

/** One proxy per preset and mode, made at load like any workflow's (making a proxy issues nothing). */
const proxies = Object.fromEntries(
  Object.entries(callPresets).map(([preset, options]) => {
    const { regular, local } = options as { regular: ActivityOptions; local?: LocalActivityOptions };
    const byMode: Partial<Record<CallMode, Proxy>> = { regular: proxyActivities<Proxy>(regular) };
    if (local) byMode.local = proxyLocalActivities<Proxy>(local);
    return [preset, byMode];
  }),
) as Record<CallPreset, Partial<Record<CallMode, Proxy>>>;

/** Reads what a saga fixes at its start (`SagaHeader.choices`). */
const configuration = proxyLocalActivities<Proxy>(configurationCall);

function proxyFor(preset: CallPreset, mode: CallMode): Proxy {
  const proxy = proxies[preset][mode];
  if (!proxy) throw new Error(`preset ${preset} has no ${mode} variant`);
  return proxy;
}

function invokeWith(options: ActivityOptions, activity: string, arg: unknown): Invocation<unknown> {
  return ({ summary }) => proxyActivities<Proxy>(options)[activity]!.executeWithOptions({ summary }, [arg]);
}

function invoke(preset: CallPreset, mode: CallMode, activity: string, arg: unknown): Invocation<unknown> {
  return ({ summary }) => proxyFor(preset, mode)[activity]!.executeWithOptions({ summary }, [arg]);
}

interface ConfiguredCall {
  preset: CallPreset;
  mode: CallMode;
  settings: StepSettings | undefined;
}

/** The mode a configured call runs in: a local mode stored for a preset without a local variant (refused when put) runs regular. */
function runsAs(call: ConfiguredCall): { preset: CallPreset; mode: CallMode } {
  const preset = (call.settings?.preset ?? call.preset) as CallPreset;
  const variants = callPresets[preset] as { regular: ActivityOptions; local?: LocalActivityOptions };
  return { preset, mode: call.mode === 'local' && variants.local ? 'local' : 'regular' };
}

/**
 * A call under the saga's stored configuration (`saga/config.ts`): the step's preset (or the one its settings
 * name) for its mode, the preset's stored settings over it, then the step's. Nothing stored for either: the
 * preset's own proxy, exactly the commands of a saga without a configuration.
 */
function invokeConfigured(
  recorded: SagaConfigChoice,
  call: ConfiguredCall,
  activity: string,
  arg: unknown,
): Invocation<unknown> {
  const { preset, mode } = runsAs(call);
  const variants = callPresets[preset] as { regular: ActivityOptions; local?: LocalActivityOptions };
  const stored = presetSettings(recorded, preset);
  if (!call.settings && !stored) return invoke(preset, mode, activity, arg);
  const options = withSettings(mode === 'local' ? variants.local! : variants.regular, stored, call.settings);
  const proxy = mode === 'local' ? proxyLocalActivities<Proxy>(options) : proxyActivities<Proxy>(options);
  return ({ summary }) => proxy[activity]!.executeWithOptions({ summary }, [arg]);
}

/**
 * The call mode a step runs with in this saga, decided at its start: the stored configuration's for the step (read
 * at the start, `config` choice), else the definition's; regular throughout for a saga started before its
 * `localCallsPatch`. Call variants (the carrier) replace the call altogether.
 */
type ModeOf = (call: CallNode, settings: StepSettings | undefined) => CallMode;

/** Kinds of actor the API sends with its cancel request (api/sagas/client.ts): a cancel through the API. */
const apiActors: readonly string[] = [ActorKind.apiKey, ActorKind.jwt, ActorKind.anonymous];

/**
 * What the saga learns while it runs that `onCancelled` reports: each failed step's failure (its details) and the
 * refund compensation's outcome. Read from what the invocations return or throw: it issues nothing.
 */
class CancellationWitness {
  private readonly failures = new Map<string, unknown>();
  private refund: CompensationOutcome | null = null;

  constructor(private readonly spec: OnCancelled | undefined) {}

  /** The step spec, its invocations observed (unchanged when the definition reports no cancellation). */
  observe<R>(spec: StepSpec<R>): StepSpec<R> {
    if (!this.spec) return spec;
    const run = spec.run;
    const observed: StepSpec<R> = {
      ...spec,
      run: async (meta) => {
        try {
          return await run(meta);
        } catch (err) {
          this.failures.set(spec.name, err);
          throw err;
        }
      },
    };
    const undo = spec.compensation;
    if (undo && spec.name === this.spec.refundStep) {
      observed.compensation = {
        ...undo,
        run: async (meta) => {
          const done = await undo.run(meta);
          this.refund = done.value as CompensationOutcome;
          return done;
        },
      };
    }
    return observed;
  }

  /** Who cancelled, whether the refund was issued, the failure and every unavailable sku. */
  cancellation(state: SagaState): SagaCancellation {
    const cancel = [...state.operatorActions].reverse().find((a) => a.action === OperatorActionName.cancel);
    const cancelledBy = !state.cancelled
      ? CancelledBy.system
      : cancel && apiActors.includes(cancel.byKind)
        ? CancelledBy.customer
        : CancelledBy.operator;
    const failureStep = state.failure?.step ?? null;
    const err = failureStep === null ? undefined : this.failures.get(failureStep);
    const cause = err instanceof ActivityFailure ? err.cause : err;
    let unavailableSkus: string[] = [];
    if (cause instanceof ApplicationFailure && cause.type === BusinessFailure.OutOfStock) {
      // The first detail is the attempt (workers/interceptors/attempt-reporting.ts), the activity's own follow.
      const detail = (cause.details ?? []).find((d): d is OutOfStockDetail =>
        Array.isArray((d as Partial<OutOfStockDetail> | null)?.skus),
      );
      unavailableSkus = detail ? detail.skus.filter((sku) => typeof sku === 'string') : [];
    }
    return {
      cancelledBy,
      refundIssued: this.refund === 'undone' || this.refund === 'already-undone',
      failureStep,
      failureType: state.failure?.type ?? 'Error',
      unavailableSkus,
    };
  }
}

export async function runDefinition<I, S extends SagaState>(definition: SagaDefinition<I, S>, input: I): Promise<S> {
  // Evaluated once, first: a saga started before local calls keeps regular activities throughout.
  const localCalls = definition.localCallsPatch === undefined ? true : patched(definition.localCallsPatch);
  // Also at the start, before any local activity resolved: the call after completion runs in the last task.
  const after = definition.afterCompleted;
  const afterInTask = after?.inTaskPatch !== undefined && patched(after.inTaskPatch);
  const modeOf: ModeOf = (call, settings) => (localCalls ? (settings?.mode ?? call.mode) : 'regular');
  const customerId = definition.customerId(input);
  const sagaId = definition.sagaId(input);
  const key = (step: string): string => `${workflowInfo().workflowId}:${step}`;

  if (workflowInfo().typedSearchAttributes.get(CustomerIdKey) === undefined) {
    upsertSearchAttributes([{ key: CustomerIdKey, value: customerId }]);
  }
  const base: SagaState = {
    status: SagaStatus.RUNNING,
    steps: [],
    failure: null,
    compensationFailure: null,
    compensationFailures: [],
    cancelled: false,
    operatorActions: [],
    configVersion: null,
  };
  const saga = new Saga<S>(
    { ...definition.initialState(input), ...base } as S,
    { sagaType: definition.name, sagaId, customerId },
    { compensation: definition.compensation },
  );
  const witness = new CancellationWitness(definition.onCancelled);
  const onCancelled = definition.onCancelled;
  if (onCancelled) {
    saga.onCompensated = () => {
      const cancellation = witness.cancellation(saga.state);
      (saga.state as unknown as CancellationFields).cancellation = cancellation;
      saga.emit({ type: onCancelled.event, version: 1, data: cancellation });
    };
  }
  const results: Record<string, unknown> = {};
  const choices: Record<string, unknown> = {};
  const ctx: AnyContext = {
    input,
    state: saga.state,
    results,
    key,
    setTotal: (total) => saga.setTotal(total),
    choices,
  };
  const approvals = new Map<string, Approval>();
  for (const node of definition.nodes) {
    if (node.type !== 'wait') continue;
    const step = node.name;
    const approvalSaga = saga as unknown as Saga<SagaState & ApprovalFields>;
    approvals.set(step, registerApproval(approvalSaga, { step, subject: node.subject(ctx), sagaId }));
  }

  const compensationOf = (c: CompensationNode | undefined, item: string) =>
    c && {
      name: c.activity,
      summary: c.summary(ctx, item),
      run: invokeConfigured(
        recordedConfig(choices),
        { preset: c.preset, mode: 'regular', settings: undefined },
        c.activity,
        c.args(ctx, item),
      ),
    };
  const stepOf = (
    node: Pick<StepNode, 'name' | 'call' | 'compensation' | 'variants'>,
    name: string,
    summary: string,
    item = '',
  ) => {
    const { call } = node;
    const variant = node.variants?.find((v) => v.when(ctx));
    if (variant) {
      // Its own activities and options (made now: making a proxy issues nothing), the step's own arguments.
      const { call: vCall, compensation: vCompensation } = variant;
      const spec: StepSpec<unknown> = {
        name,
        activity: vCall.activity,
        summary: variant.summary(ctx),
        run: invokeWith(vCall.options(ctx), vCall.activity, call.args(ctx, item)),
      };
      const undo = node.compensation;
      if (vCompensation && undo) {
        spec.compensation = {
          name: undo.activity,
          summary: vCompensation.summary(ctx),
          run: invokeWith(vCompensation.options(ctx), vCompensation.activity, undo.args(ctx, item)),
        };
      }
      return spec;
    }
    // A parallel group's members share the group's settings.
    const recorded = recordedConfig(choices);
    const settings = stepSettings(recorded, node.name);
    const configured: ConfiguredCall = { preset: call.preset, mode: modeOf(call, settings), settings };
    const spec: StepSpec<unknown> = {
      name,
      activity: call.activity,
      summary,
      local: runsAs(configured).mode === 'local',
      run: invokeConfigured(recorded, configured, call.activity, call.args(ctx, item)),
    };
    const compensation = compensationOf(node.compensation, item);
    if (compensation) spec.compensation = compensation;
    return spec;
  };

  const afterCall = () => after!.args(ctx);
  const alongsideCompletion = afterInTask
    ? () => proxyFor(after.preset, 'local')[after.activity]!(afterCall())
    : undefined;
  const final = await saga.run(async () => {
    // Fixed once, first, and recorded (the local activity's marker): a replay takes the same path whatever the
    // replaying worker's configuration. Inside the run, so that a cancellation right now compensates as any other.
    // Every choice's patch first, then their reads: no patch is evaluated after a local activity resolved in the
    // same workflow task (with the config patch after the carrier's read, one query's replay was seen to fail).
    const starting = (definition.choices ?? []).map((choice) => ({ choice, patched: patched(choice.patch) }));
    for (const { choice, patched: taken } of starting) {
      choices[choice.name] = taken
        ? (
            await (configuration[choice.activity] as unknown as (...args: unknown[]) => Promise<Attempted<unknown>>)(
              ...(choice.args ?? []),
            )
          ).value
        : choice.fallback;
    }
    if (SAGA_CONFIG_CHOICE in choices) saga.state.configVersion = recordedConfig(choices).version;
    for (const node of definition.nodes) {
      if (node.type === 'step') {
        const result = await saga.step(witness.observe(stepOf(node, node.name, node.summary(ctx))));
        results[node.name] = result;
        node.then?.(ctx, result);
      } else if (node.type === 'parallel') {
        const specs = node
          .each(ctx)
          .map((item) => witness.observe(stepOf(node, node.member(item), node.summary(ctx, item), item)));
        const values = await saga.all(specs);
        results[node.name] = values;
        node.then?.(ctx, values);
      } else {
        const approval = approvals.get(node.name)!;
        const deadlineMs = node.deadlineMs(ctx, waitDeadlineMs(recordedConfig(choices), node.name));
        results[node.name] = await saga.step(
          witness.observe({
            name: node.name,
            summary: node.summary(ctx),
            run: waitFor(() => approval.wait(deadlineMs)),
          }),
        );
      }
    }
  }, alongsideCompletion);

  if (
    !afterInTask &&
    after &&
    final.status === SagaStatus.COMPLETED &&
    (after.patch === undefined || patched(after.patch))
  ) {
    // What a completed saga reports must happen even if the saga is cancelled now.
    const call = proxyFor(after.preset, 'regular')[after.activity]!;
    await CancellationScope.nonCancellable(() => call(afterCall()));
  }
  return final;
}

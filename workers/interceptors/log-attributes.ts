/**
 * Log attributes, an activity outbound interceptor that every saga worker installs (`createSagaWorker`): each line
 * logged about an activity (its own `log` calls, and the SDK's: "Activity failed" with its error; at debug,
 * "Activity started" and "Activity completed") carries the saga it is a step of (`sagaType`, `sagaId`:
 * common/saga-log.ts) and the step (`step`: the activity type), beside the SDK's attributes (workflowId,
 * workflowType, activityType, attempt, isLocal…). The task token is left out: whoever holds it can complete the
 * activity.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { sagaLogFields } from '../../common/saga-log';

export const sagaActivityLogAttributes: ActivityInterceptorsFactory = (ctx) => {
  const { activityType, workflowType, workflowExecution } = ctx.info;
  const saga =
    workflowType !== undefined && workflowExecution !== undefined
      ? sagaLogFields(workflowType, workflowExecution.workflowId)
      : undefined;
  // With tracing on, the attempt's span (the tracing interceptor runs outside this one): its trace id goes on every
  // line about the attempt, the SDK's "Activity completed/failed" too, which it writes once the span has ended.
  let traced: { traceId: string; spanId: string } | undefined;
  return {
    inbound: {
      execute(input, next) {
        const span = trace.getActiveSpan()?.spanContext();
        if (span && isSpanContextValid(span)) traced = { traceId: span.traceId, spanId: span.spanId };
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        const { taskToken: _taskToken, ...attributes } = input;
        return next({ ...attributes, ...saga, step: activityType, ...traced });
      },
    },
  };
};

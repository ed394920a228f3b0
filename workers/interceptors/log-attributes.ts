/**
 * Log attributes, an activity outbound interceptor that every saga worker installs (`createSagaWorker`): each line
 * logged about an activity (its own `log` calls, and the SDK's: "Activity failed" with its error; at debug,
 * "Activity started" and "Activity completed") carries the saga it is a step of (`sagaType`, `sagaId`:
 * common/saga-log.ts) and the step (`step`: the activity type), beside the SDK's attributes (workflowId,
 * workflowType, activityType, attempt, isLocal…). The task token is left out: whoever holds it can complete the
 * activity.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { sagaLogFields } from '../../common/saga-log';

export const sagaActivityLogAttributes: ActivityInterceptorsFactory = (ctx) => {
  const { activityType, workflowType, workflowExecution } = ctx.info;
  const saga =
    workflowType !== undefined && workflowExecution !== undefined
      ? sagaLogFields(workflowType, workflowExecution.workflowId)
      : undefined;
  return {
    outbound: {
      getLogAttributes(input, next) {
        const { taskToken: _taskToken, ...attributes } = input;
        return next({ ...attributes, ...saga, step: activityType });
      },
    },
  };
};

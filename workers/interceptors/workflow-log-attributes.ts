/**
 * Log attributes of the workflows, a workflow interceptor module: bundled into the workflow sandbox with the
 * workflows (`workflowInterceptorModules`, workers/create-worker.ts). Each line a saga logs (`log` from
 * @temporalio/workflow, which writes nothing while the workflow replays) and the SDK's lines about it ("Workflow
 * started", "Workflow failed"…) carry `sagaType` and `sagaId` (common/saga-log.ts) beside the SDK's workflowId,
 * runId, workflowType, taskQueue. Deterministic: it reads the attributes it is given, and a log issues no command.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { sagaLogFields } from '../../common/saga-log';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      getLogAttributes(input, next) {
        const { workflowType, workflowId } = input;
        const saga =
          typeof workflowType === 'string' && typeof workflowId === 'string'
            ? sagaLogFields(workflowType, workflowId)
            : undefined;
        return next({ ...input, ...saga });
      },
    },
  ],
});

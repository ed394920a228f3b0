/**
 * The worker process's tracing (bootstrap/tracing.ts), started by being bootstrap/worker-main.ts's first import:
 * before `mongodb` is loaded, so that the SDK's instrumentation patches it. Default service name `saga-worker`;
 * undefined when no OTEL_* variable turns tracing on.
 */
import { startTracingOrExit } from './tracing';

export const tracing = startTracingOrExit('saga-worker');

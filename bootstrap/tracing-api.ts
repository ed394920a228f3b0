/**
 * The API process's tracing (bootstrap/tracing.ts), started by being bootstrap/api-main.ts's first import: before
 * `http`, `express` and `mongodb` are loaded, so that the SDK's instrumentations patch them. Default service name
 * `saga-api`; undefined when no OTEL_* variable turns tracing on.
 */
import { startTracingOrExit } from './tracing';

export const tracing = startTracingOrExit('saga-api');

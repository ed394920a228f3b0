import type { Client } from '@temporalio/client';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SagaStatusKey } from '../common/search-attributes';
import type { Operation } from './operation';

/** Why the API refused a request before its handler ran (`api_requests_refused_total{reason}`). */
export type RefusalReason = 'authentication' | 'rate_limit' | 'validation' | 'admission';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express declares res.locals' type in this namespace
  namespace Express {
    interface Locals {
      /** Set by the middleware that refuses a request whose status alone does not say why (admission's 503). */
      refusedBy?: RefusalReason;
    }
  }
}

/** The API's Prometheus metrics (docs/operations.md), served by `GET /metrics` in the text format. */
export interface ApiMetrics {
  registry: Registry;
  /** Counts every answer by its operation's path template, method and status, and times it. */
  middleware: RequestHandler;
}

export interface ApiMetricsOptions {
  /** The operations table: requests are labelled by their operation's path template, never the raw URL. */
  operations: Record<string, Operation>;
  /** Node's process metrics (CPU, memory, event loop lag, GC): the API process sets it, tests leave it out. */
  processMetrics?: boolean;
  /**
   * Sagas waiting for an operator, counted in Temporal's visibility store at each scrape (SagaStatus FAILED, still
   * running) for this task queue: survives worker restarts, unlike any counter kept in a process.
   */
  waiting?: { temporal: Client; taskQueue: string; sagaTypes: readonly string[]; timeoutMs?: number };
}

/** Seconds; the API answers in milliseconds, a saga start in tens of them, an event stream for minutes. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

/** How a refused request is told by its answer: admission control marks its own 503 (api/admission.ts). */
function refusalOf(status: number, refusedBy: RefusalReason | undefined): RefusalReason | undefined {
  if (refusedBy) return refusedBy;
  if (status === 401 || status === 403) return 'authentication';
  if (status === 429) return 'rate_limit';
  if (status === 400 || status === 413 || status === 415) return 'validation';
  return undefined;
}

/**
 * One registry per app (tests start many apps in one process; prom-client's global registry would refuse the
 * second). Labels are bounded: the route is the table's template (`/orders/:orderId`) or `unmatched`.
 */
export function createApiMetrics({ operations, processMetrics = false, waiting }: ApiMetricsOptions): ApiMetrics {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'api_requests_total',
    help: 'HTTP requests answered, by the operation path template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'api_request_duration_seconds',
    help: 'Time from the request arriving to its answer finishing, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const sagaStarts = new Counter({
    name: 'api_saga_starts_total',
    help: 'Saga-starting requests by saga type and answer (202 started or replayed, 409, 503, ...)',
    labelNames: ['saga_type', 'status'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'api_requests_refused_total',
    help: 'Requests refused before their handler: authentication, rate_limit, validation, admission',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  if (waiting) waitingGauge(registry, waiting);

  const routes = Object.values(operations).map((op) => ({
    op,
    pattern: new RegExp(`^${op.path.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`),
  }));
  const routeOf = (method: string, path: string) => {
    const onPath = routes.filter((r) => r.pattern.test(path));
    const m = method === 'HEAD' ? 'get' : method.toLowerCase();
    return onPath.find((r) => r.op.method === m)?.op ?? onPath[0]?.op;
  };

  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.once('finish', () => {
      const op = routeOf(req.method, req.path);
      const labels = { route: op?.path ?? 'unmatched', method: req.method, status: String(res.statusCode) };
      requests.inc(labels);
      end(labels);
      if (op?.startsSaga && op.method === req.method.toLowerCase()) {
        sagaStarts.inc({ saga_type: op.startsSaga, status: labels.status });
      }
      const reason = refusalOf(res.statusCode, res.locals.refusedBy);
      if (reason) refused.inc({ reason });
    });
    next();
  };
  return { registry, middleware };
}

function waitingGauge(registry: Registry, options: NonNullable<ApiMetricsOptions['waiting']>): void {
  const { temporal, taskQueue, sagaTypes, timeoutMs = 2_000 } = options;
  new Gauge({
    name: 'sagas_waiting_for_operator',
    help: 'Sagas FAILED and waiting for an operator (retryCompensation), from Temporal visibility at scrape time',
    labelNames: ['saga_type'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      // A scrape must not hang on Temporal: without an answer, the series is absent (and the alert says so).
      await Promise.all(
        sagaTypes.map(async (type) => {
          const query =
            `WorkflowType = '${type}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running' ` +
            `AND ${SagaStatusKey.name} = 'FAILED'`;
          try {
            const { count } = await temporal.connection.withDeadline(Date.now() + timeoutMs, () =>
              temporal.workflow.count(query),
            );
            this.set({ saga_type: type }, count);
          } catch {
            // left out of this scrape
          }
        }),
      );
    },
  });
}

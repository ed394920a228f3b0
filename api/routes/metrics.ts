import type { Registry } from 'prom-client';
import type { Handlers } from '../operations';

/** `GET /metrics`: the registry in Prometheus' text format (api/metrics.ts says what it holds). */
export function metricsHandlers(registry: Registry): Pick<Handlers, 'metrics'> {
  return {
    metrics: async (_input, _req, res) => {
      const text = await registry.metrics();
      res.type(registry.contentType).send(text);
    },
  };
}

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Why a relay round failed (`relay_errors_total{kind}`). */
export type RelayErrorKind = 'mongodb' | 'broker' | 'lease';

/** The relay's Prometheus metrics (docs/operations.md, "The relay's metrics"). */
export interface RelayMetrics {
  registry: Registry;
  published: Counter<'saga_type'>;
  errors: Counter<'kind'>;
  batchSeconds: Histogram;
  leaseHeld: Gauge;
  /** The outbox backlog's source, read at each scrape. */
  setBacklogSource(read: () => Promise<number>): void;
}

/** One registry per relay (tests run several in one process). */
export function createRelayMetrics({ processMetrics = false } = {}): RelayMetrics {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const published = new Counter({
    name: 'relay_events_published_total',
    help: 'Domain events published to RabbitMQ and confirmed by it, by saga type (a republished event counts again)',
    labelNames: ['saga_type'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'relay_errors_total',
    help: 'Relay rounds that failed and will be retried, by what failed: mongodb, broker (publish or confirm), lease',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'relay_batch_duration_seconds',
    help: 'Time of one relay round with work: reading the outbox and the events, publishing, the confirms, the deletes',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const leaseHeld = new Gauge({
    name: 'relay_lease_held',
    help: '1 while this relay holds the lease and publishes, 0 while it stands by',
    registers: [registry],
  });
  let readBacklog: (() => Promise<number>) | undefined;
  new Gauge({
    name: 'relay_outbox_backlog',
    help: 'Domain events stored but not yet confirmed by RabbitMQ (outbox markers), counted at scrape time',
    registers: [registry],
    async collect() {
      if (!readBacklog) return;
      try {
        this.set(await readBacklog());
      } catch {
        this.reset(); // MongoDB unreachable: the series is absent from this scrape
      }
    },
  });
  return { registry, published, errors, batchSeconds, leaseHeld, setBacklogSource: (read) => (readBacklog = read) };
}

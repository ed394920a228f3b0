import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { AppError } from '../errors';
import type { Handlers } from '../operations';

export interface HealthRoutesDeps {
  temporal: Client;
  db: Db;
  shutdown: AbortSignal;
}

/** How long a readiness check waits for each dependency. */
const CHECK_MS = 2_000;

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** `/health`: the process is alive. `/ready`: Temporal and MongoDB answer, and the API is not shutting down. */
export function healthHandlers({ temporal, db, shutdown }: HealthRoutesDeps): Pick<Handlers, 'health' | 'ready'> {
  const health: Handlers['health'] = (input, _req, res) => {
    res.json({ status: 'ok' });
  };

  const ready: Handlers['ready'] = async (input, _req, res) => {
    if (shutdown.aborted) throw AppError.unavailable('The API is shutting down', { retryAfterSeconds: 5 });
    const [temporalCheck, mongoCheck] = await Promise.allSettled([
      temporal.connection.withDeadline(Date.now() + CHECK_MS, () => temporal.workflowService.getSystemInfo({})),
      within(CHECK_MS, db.command({ ping: 1 })),
    ]);
    const checks = {
      temporal: temporalCheck.status === 'fulfilled' ? ('ok' as const) : ('unavailable' as const),
      mongodb: mongoCheck.status === 'fulfilled' ? ('ok' as const) : ('unavailable' as const),
    };
    if (checks.temporal !== 'ok' || checks.mongodb !== 'ok') {
      const down = Object.entries(checks)
        .filter(([, v]) => v !== 'ok')
        .map(([k]) => (k === 'temporal' ? 'Temporal' : 'MongoDB'));
      throw AppError.unavailable(`${down.join(' and ')} cannot be reached`, { retryAfterSeconds: 5, checks });
    }
    res.json({ status: 'ready', checks });
  };

  return { health, ready };
}

import type { RequestHandler } from 'express';
import { AppError } from './errors';

export interface AdmissionOptions {
  /** Saga-starting requests allowed in progress at once; more answer 503 at once. Default 64. */
  maxStarting?: number;
  /** Retry-After of the 503, in seconds. Default 1. */
  retryAfterSeconds?: number;
}

/**
 * Admission control: when more saga-starting requests are in progress than the service can take, a
 * new one answers `503` with `Retry-After` at once instead of queueing behind the others until
 * every one of them times out. It counts the requests of the routes it is mounted on, and only those:
 * the saga starts (`POST /orders`, `POST /transport-orders`; api/app.ts), never reads or the other writes.
 * Nothing is started for a refused request, so the client may simply retry it (with the same Idempotency-Key).
 */
export function admission({ maxStarting = 64, retryAfterSeconds = 1 }: AdmissionOptions = {}): RequestHandler {
  let starting = 0;
  return (_req, res, next) => {
    if (starting >= maxStarting) {
      res.locals.refusedBy = 'admission'; // api_requests_refused_total{reason="admission"} (api/metrics.ts)
      throw AppError.unavailable(
        `Too many sagas are starting right now (${maxStarting} in progress); retry in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
    }
    starting++;
    let done = false;
    const release = () => {
      if (!done) {
        done = true;
        starting--;
      }
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };
}

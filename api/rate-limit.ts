import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from './errors';

export interface RateLimitOptions {
  /** Requests one credential may make per window. */
  limit: number;
  windowSeconds: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { limit: 600, windowSeconds: 60 };

/**
 * Requests per credential (the principal `authorize` left in `res.locals`; the client address when authentication
 * is off), counted in this process. Beyond the limit: 429 problem+json with `Retry-After`, and on every answer the
 * IETF draft-8 `RateLimit` and `RateLimit-Policy` headers. One instance counts for every operation it guards.
 */
export function rateLimitPerCredential({ limit, windowSeconds }: RateLimitOptions): RequestHandler {
  return rateLimit({
    windowMs: windowSeconds * 1000,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: `${limit}-in-${windowSeconds}s`,
    keyGenerator: (req, res) => res.locals.principal?.id ?? ipKeyGenerator(req.ip ?? ''),
    handler: (_req, res, next) => {
      const retryAfter = Number(res.getHeader('Retry-After')) || windowSeconds;
      next(
        new AppError(429, 'Too many requests', `More than ${limit} requests in ${windowSeconds} s; retry later`, {
          retryAfterSeconds: retryAfter,
        }),
      );
    },
  });
}

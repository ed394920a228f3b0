import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import type { FieldError } from '../common/field-errors';

/** A problem detail field error: where in the request, and what is wrong with it (common/field-errors.ts). */
export type { FieldError };

interface ProblemExtra {
  errors?: FieldError[];
  retryAfterSeconds?: number;
  /** Methods the path answers to, for 405. */
  allow?: string[];
  /** Dependency checks, for /ready. */
  checks?: Record<string, 'ok' | 'unavailable'>;
  /** For 401: the `WWW-Authenticate` challenge. */
  challenge?: string;
}

/**
 * The one application error type of the API: it carries its HTTP status and becomes an
 * `application/problem+json` body (RFC 9457) in the error middleware, and nowhere else. Its `cause`, if any (what
 * made a dependency fail), goes to the log with the request's line, never to the client.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: ProblemExtra = {},
    options?: ErrorOptions,
  ) {
    super(detail, options);
  }

  static badRequest(detail: string, errors?: FieldError[]): AppError {
    return new AppError(400, 'Invalid request', detail, errors ? { errors } : {});
  }
  /** 401 with `WWW-Authenticate: Bearer` (RFC 6750; `error="invalid_token"` when a credential was sent). */
  static unauthorized(detail: string, invalidToken = false): AppError {
    const challenge = invalidToken ? 'Bearer realm="sagas", error="invalid_token"' : 'Bearer realm="sagas"';
    return new AppError(401, 'Unauthorized', detail, { challenge });
  }
  static forbidden(detail: string): AppError {
    return new AppError(403, 'Forbidden', detail);
  }
  static notFound(detail: string): AppError {
    return new AppError(404, 'Not found', detail);
  }
  static methodNotAllowed(detail: string, allow: string[]): AppError {
    return new AppError(405, 'Method not allowed', detail, { allow });
  }
  static conflict(detail: string): AppError {
    return new AppError(409, 'Conflict', detail);
  }
  static unsupportedMediaType(detail: string): AppError {
    return new AppError(415, 'Unsupported media type', detail);
  }
  static unprocessable(detail: string): AppError {
    return new AppError(422, 'Unprocessable request', detail);
  }
  static unavailable(
    detail: string,
    {
      retryAfterSeconds = 5,
      checks,
      cause,
    }: { retryAfterSeconds?: number; checks?: ProblemExtra['checks'] } & ErrorOptions = {},
  ): AppError {
    const extra = { retryAfterSeconds, ...(checks ? { checks } : {}) };
    return new AppError(503, 'Service unavailable', detail, extra, cause === undefined ? undefined : { cause });
  }
}

const problemTypes: Record<number, string> = {
  400: 'invalid-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'unprocessable',
  429: 'too-many-requests',
  500: 'internal',
  503: 'unavailable',
};

export function problemType(status: number): string {
  return `urn:problem:${problemTypes[status] ?? 'error'}`;
}

/** body-parser reports its failures with a `type` and a `status`. */
interface BodyParserError {
  type: string;
  status: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && 'type' in err && 'status' in err;
}

/**
 * gRPC status codes that mean "Temporal cannot be reached right now, or did not answer in time": UNAVAILABLE,
 * DEADLINE_EXCEEDED, and CANCELLED, which is how a call cut short by `connection.withDeadline` ends (a query no
 * worker picks up, for one).
 */
const unreachableGrpcCodes = new Set([1, 4, 14]);

function grpcCode(err: unknown): number | undefined {
  if (isGrpcServiceError(err)) return err.code;
  if (err instanceof ServiceError) return grpcCode(err.cause);
  return undefined;
}

/** True when the error says Temporal or MongoDB cannot be reached: the client may retry later. */
export function isUnreachable(err: unknown): boolean {
  const code = grpcCode(err);
  if (code !== undefined) return unreachableGrpcCodes.has(code);
  return (
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNetworkError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoTopologyClosedError
  );
}

/**
 * True when Temporal answers that no worker polls the saga's task queue (FAILED_PRECONDITION "no poller seen", for
 * a query): the saga exists but cannot answer until a worker is back, so the client may retry later.
 */
export function isWithoutWorker(err: unknown): boolean {
  if (grpcCode(err) !== 9) return false;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/no poller seen/i.test(e.message)) return true;
  }
  return false;
}

/** True for a Temporal INVALID_ARGUMENT answer (e.g. a page token the server does not accept). */
export function isInvalidArgument(err: unknown): boolean {
  return grpcCode(err) === 3;
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // With the error as the cause: the log says which service and why, the client only that it may retry.
  if (isUnreachable(err)) {
    return AppError.unavailable('A service this API depends on cannot be reached; retry later', { cause: err });
  }
  if (isWithoutWorker(err)) {
    return AppError.unavailable('No saga worker is answering right now; retry later', { cause: err });
  }
  if (isBodyParserError(err)) {
    if (err.type === 'entity.parse.failed') return AppError.badRequest('The body is not valid JSON');
    if (err.type === 'entity.too.large') return new AppError(413, 'Payload too large', 'The body is over the limit');
    if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
      return AppError.unsupportedMediaType('Send UTF-8 encoded JSON');
    }
    if (err.status >= 400 && err.status < 500) return AppError.badRequest('The body could not be read');
  }
  return new AppError(500, 'Internal error', 'Something went wrong on our side; it has been logged');
}

/**
 * Turns every error into a problem+json response. What went wrong on our side rides on the request's log line
 * (`res.err`, api/request-log.ts), logged there once and never sent to the client: an unexpected error as it is (a
 * 500), a 5xx answered for a reason with that reason as its cause (a dependency that cannot be reached, the
 * identity provider's keys not fetched). Our own refusals (4xx, admission control, shutting down) carry none.
 */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const problem = toAppError(err);
  if (problem.status >= 500 && problem.cause !== undefined) res.err = problem;
  else if (problem.status >= 500 && !(err instanceof AppError)) {
    res.err = err instanceof Error ? err : new Error(String(err));
  }
  if (res.headersSent) {
    // A stream already under way (SSE): nothing more can be said in a status line.
    res.end();
    return;
  }
  const { retryAfterSeconds, allow, errors, checks, challenge } = problem.extra;
  if (challenge) res.setHeader('WWW-Authenticate', challenge);
  if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
  if (allow) res.setHeader('Allow', allow.join(', '));
  res
    .status(problem.status)
    .type('application/problem+json')
    .json({
      type: problemType(problem.status),
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      instance: req.originalUrl,
      ...(errors ? { errors } : {}),
      ...(checks ? { checks } : {}),
    });
};

export const notFoundHandler: RequestHandler = (req) => {
  throw AppError.notFound(`No route for ${req.method} ${req.path}`);
};

/** Writes with a body must send JSON. */
export const requireJson: RequestHandler = requireMediaType('application/json');

/** 415 for a request whose body (if it has one) is not of this media type. */
export function requireMediaType(type: string): RequestHandler {
  return (req, _res, next) => {
    const hasBody =
      req.headers['content-length'] !== '0' && (req.headers['content-length'] || req.headers['transfer-encoding']);
    if (hasBody && !req.is(type)) throw AppError.unsupportedMediaType(`Send the body as ${type}`);
    next();
  };
}

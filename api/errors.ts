import type { ErrorRequestHandler, RequestHandler } from 'express';

/** A problem detail field error: where in the request, and what is wrong with it. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * The one application error type of the API: it carries its HTTP status and becomes an
 * `application/problem+json` body (RFC 9457) in the error middleware, and nowhere else.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number } = {},
  ) {
    super(detail);
  }

  static badRequest(detail: string, errors?: FieldError[]): AppError {
    return new AppError(400, 'Invalid request', detail, errors ? { errors } : {});
  }
  static notFound(detail: string): AppError {
    return new AppError(404, 'Not found', detail);
  }
  static conflict(detail: string): AppError {
    return new AppError(409, 'Conflict', detail);
  }
  static unavailable(detail: string, retryAfterSeconds = 5): AppError {
    return new AppError(503, 'Service unavailable', detail, { retryAfterSeconds });
  }
}

const problemTypes: Record<number, string> = {
  400: 'invalid-request',
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

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isBodyParserError(err)) {
    if (err.type === 'entity.parse.failed') return AppError.badRequest('The body is not valid JSON');
    if (err.type === 'entity.too.large') return new AppError(413, 'Payload too large', 'The body is over the limit');
    if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
      return new AppError(415, 'Unsupported media type', 'Send UTF-8 encoded JSON');
    }
    if (err.status >= 400 && err.status < 500) return AppError.badRequest('The body could not be read');
  }
  return new AppError(500, 'Internal error', 'Something went wrong on our side; it has been logged');
}

/** Turns every error into a problem+json response. Internal details go to the log, never to the client. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const problem = toAppError(err);
  if (problem.status >= 500 && !(err instanceof AppError)) {
    console.error(`${req.method} ${req.path} failed:`, err);
  }
  if (problem.extra.retryAfterSeconds !== undefined)
    res.setHeader('Retry-After', String(problem.extra.retryAfterSeconds));
  res
    .status(problem.status)
    .type('application/problem+json')
    .json({
      type: problemType(problem.status),
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      instance: req.originalUrl,
      ...(problem.extra.errors ? { errors: problem.extra.errors } : {}),
    });
};

export const notFoundHandler: RequestHandler = (req) => {
  throw AppError.notFound(`No route for ${req.method} ${req.path}`);
};

/** Writes with a body must send JSON. */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers['content-length'] !== '0' && (req.headers['content-length'] || req.headers['transfer-encoding']);
  if (hasBody && !req.is('application/json')) {
    throw new AppError(415, 'Unsupported media type', 'Send the body as application/json');
  }
  next();
};

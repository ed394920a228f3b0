import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { SagaLogFields } from '../common/saga-log';

/** The header that names a request: taken from the caller when valid, else made here; sent back in every answer. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** What a caller's request id may be: 1 to 128 letters, digits, `.`, `_`, `:` or `-` (a UUID, a trace id…). */
export const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: the caller's `X-Request-Id` when it is a valid one, else a fresh UUID. */
export function requestIdOf(header: string | undefined): string {
  return header !== undefined && requestIdPattern.test(header) ? header : randomUUID();
}

/** The saga one request is about, on its log lines: the same fields as the worker's lines about it. */
export type SagaRequestFields = SagaLogFields & { workflowId: string };

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express declares res.locals' type in this namespace
  namespace Express {
    interface Locals {
      saga?: SagaRequestFields;
    }
  }
}

/** This request is about one saga: its line, and every line logged for it through `req.log`, name the saga. */
export function logSagaOfRequest(req: Request, res: Response, fields: SagaRequestFields): void {
  res.locals.saga = fields;
  req.log = req.log.child(fields);
}

export interface RequestLogOptions {
  /** Paths polled by probes and scrapers (`/health`, `/ready`, `/metrics`): their lines are debug unless they fail. */
  quietPaths: readonly string[];
}

/**
 * One line per request, when its answer is sent or the connection closes (pino-http): `requestId` (the caller's
 * valid `X-Request-Id` or a fresh UUID, echoed in that response header), `req: { method, path }` (no query, no
 * header, no body: they may carry credentials or personal data), `res: { statusCode }`, `responseTime` (ms), the
 * saga the request is about (`logSagaOfRequest`), and for a failure on our side the error (`err`, set by the error
 * middleware: api/errors.ts), logged there once. Levels: info, debug for `quietPaths`, warn for a 503, error for
 * another 5xx. Handlers log through `req.log`, whose lines carry the request id too.
 */
export function requestLogging(logger: Logger, { quietPaths }: RequestLogOptions): RequestHandler {
  const quiet = new Set(quietPaths);
  // Express's own URL (routers rewrite `url` for what they mount), without the query.
  const pathOf = (req: IncomingMessage) => ((req as Partial<Request>).originalUrl ?? req.url ?? '').split('?')[0] ?? '';
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const header = req.headers[REQUEST_ID_HEADER.toLowerCase()];
      const id = requestIdOf(typeof header === 'string' ? header : undefined);
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    customAttributeKeys: { reqId: 'requestId' },
    quietReqLogger: true,
    // Ours, on the raw request and response; the logger's own serializer for `err` (bootstrap/logging.ts).
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage) => ({ method: req.method, path: pathOf(req) }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customProps: (_req, res) => (res as Response).locals?.saga ?? {},
    customLogLevel(req, res, err) {
      if (err || res.statusCode >= 500) return res.statusCode === 503 ? 'warn' : 'error';
      return quiet.has(pathOf(req)) && res.statusCode < 400 ? 'debug' : 'info';
    },
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    // The error is the one the error middleware left (`res.err`), or the response stream's own; not the stand-in
    // pino-http makes for every 5xx answer.
    customErrorObject(_req, res, error, { err: _standIn, ...line }: Record<string, unknown>) {
      const err = res.err ?? (res.statusCode >= 500 ? undefined : error);
      return err === undefined ? line : { ...line, err };
    },
  });
}

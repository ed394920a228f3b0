import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import type { Role } from '../common/roles';
import { AppError } from './errors';
import { parse } from './validation';

/**
 * What one operation of the API is: the table in `api/operations.ts` lists them all, and that one table drives
 * the Express routes (`mountOperations`), the request validation, the 405 answers (`methodNotAllowed`) and the
 * OpenAPI document (`api/openapi.ts`).
 */
export interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express-style path, `/orders/:orderId`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /**
   * Who may call it: a credential with any one of these roles (`authorize` in api/auth.ts reads them here), or
   * `'public'` for the few operations anyone may call (health, readiness, the document). Required, so that a new
   * operation cannot be left open by forgetting it.
   */
  roles: 'public' | readonly Role[];
  /**
   * Also accepts the codec endpoint's browser session (a cookie, from `POST /codec/session`) instead of a bearer
   * credential: for the Web UI, whose browser cannot send our bearer credential.
   */
  sessionCookie?: boolean;
  /**
   * It starts a saga of this workflow type: admission control counts it (503 + Retry-After beyond the limit), before
   * its body is read, and `api_saga_starts_total` counts its answers by this type.
   */
  startsSaga?: string;
  request: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    /** Each field is one header, by its canonical name (`Idempotency-Key`); other headers are not looked at. */
    headers?: z.ZodObject;
    body?: z.ZodType;
    /** The body may be left out (`approve`, `reject`): it is then read as `{}`. */
    bodyOptional?: boolean;
    /** The body's media type: JSON (default), or an HTML form's (application/x-www-form-urlencoded). */
    bodyType?: 'json' | 'form';
  };
  responses: Record<number, ResponseSpec>;
}

export interface ResponseSpec {
  description: string;
  /** Body schema. Errors (4xx/5xx) are always the Problem schema, as application/problem+json. */
  schema?: z.ZodType;
  /** Defaults: application/json for 2xx, application/problem+json for errors. */
  contentType?: string;
  /** Response headers, one field each; optional fields are headers that are not always sent. */
  headers?: z.ZodObject;
  /** OpenAPI links: the operations this answer leads to, with their parameters taken from it. */
  links?: Record<string, { operationId: string; parameters: Record<string, string> }>;
}

type Parsed<O, K extends string> = O extends { request: Record<K, infer S extends z.ZodType> }
  ? z.output<S>
  : undefined;

/** The validated request of an operation, typed by its schemas. */
export interface Input<O extends Operation> {
  params: Parsed<O, 'params'>;
  query: Parsed<O, 'query'>;
  headers: Parsed<O, 'headers'>;
  body: Parsed<O, 'body'>;
}

/** Answers one operation; its request has passed the operation's schemas. */
export type Handler<O extends Operation> = (input: Input<O>, req: Request, res: Response) => Promise<void> | void;

/** One handler for every operation of a table, each typed by its operation. */
export type HandlersOf<T extends Record<string, Operation>> = { [K in keyof T]: Handler<T[K]> };

/** Parses the request with the operation's schemas, or throws a 400 naming every offending field. */
export function parseInput<O extends Operation>(op: O, req: Request): Input<O> {
  const { params, query, headers, body, bodyOptional } = op.request;
  const headerValues: Record<string, unknown> = {};
  if (headers) {
    for (const [name, schema] of Object.entries<z.ZodType>(headers.shape)) {
      headerValues[name] = parse(schema, req.get(name), 'header', name);
    }
  }
  return {
    params: params ? parse(params, req.params, 'params') : undefined,
    query: query ? parse(query, req.query, 'query') : undefined,
    headers: headers ? headerValues : undefined,
    body: body ? parse(body, bodyOptional ? ((req.body as unknown) ?? {}) : req.body, 'body') : undefined,
  } as Input<O>;
}

/** A router with one route per operation: validation, then the operation's handler. */
export function mountOperations<T extends Record<string, Operation>>(table: T, handlers: HandlersOf<T>): Router {
  const router = Router();
  for (const [id, op] of Object.entries(table) as [keyof T & string, T[keyof T]][]) {
    const handler = handlers[id];
    router[op.method](op.path, async (req, res) => {
      await handler(parseInput(op, req), req, res);
    });
  }
  return router;
}

/** `/orders/:orderId` → `/orders/{orderId}` */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');

/** 405 with an `Allow` header for a path of the table asked with a method it does not answer to. */
export function methodNotAllowed(table: Record<string, Operation>): RequestHandler {
  const byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const op of Object.values(table)) {
    const key = openApiPath(op.path);
    const pattern = new RegExp(`^${op.path.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
    const entry = byPath.get(key) ?? { pattern, methods: new Set<string>() };
    entry.methods.add(op.method.toUpperCase());
    if (op.method === 'get') entry.methods.add('HEAD');
    byPath.set(key, entry);
  }
  return (req, _res, next) => {
    for (const { pattern, methods } of byPath.values()) {
      if (pattern.test(req.path) && !methods.has(req.method)) {
        throw AppError.methodNotAllowed(`${req.path} does not answer to ${req.method}`, [...methods]);
      }
    }
    next();
  };
}

import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import { openApiPath, type Operation, type ResponseSpec } from './operation';
import { operations } from './operations';
import { REQUEST_ID_HEADER, requestIdPattern } from './request-log';
import { Problem } from './schemas';

/** `Retry-After` of every 503: whole seconds. */
const RetryAfter = z.object({
  'Retry-After': z
    .string()
    .regex(/^[0-9]+$/)
    .meta({ description: 'Seconds to wait before retrying' }),
});

/** What every answer carries (api/request-log.ts): the id its log line has. */
const RequestId = z.object({
  [REQUEST_ID_HEADER]: z
    .string()
    .regex(requestIdPattern)
    .meta({
      description:
        "The request's id, on its log line: the request's own `X-Request-Id` if it sent a valid one (1 to 128 " +
        'letters, digits, `.`, `_`, `:` or `-`), else a new UUID',
    }),
});

const ProblemComponent = Problem.meta({ id: 'Problem' });

/** The two kinds of bearer credential (docs/api.md, Authentication); either one satisfies an operation. */
const securitySchemes = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`sk_…`, from `npm run api-key -- create` or API_KEYS): `Authorization: Bearer <key>`',
  },
  jwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A JWT from the identity provider (API_JWT_JWKS_URL, API_JWT_ISSUER, API_JWT_AUDIENCE), its roles in the ' +
      'API_JWT_ROLES_CLAIM claim',
  },
  codecSession: {
    type: 'apiKey',
    in: 'cookie',
    name: 'saga_codec_session',
    description:
      "A browser's session of the codec endpoint, from `POST /codec/session`: what the Web UI sends when its Codec " +
      'Server settings include cross-origin credentials. Accepted by the codec operations only',
  },
} as const;

/** What every operation that needs a credential may also answer, whatever its own responses. */
function guardedResponses(roles: readonly string[]): Record<number, ResponseSpec> {
  return {
    401: {
      description: 'No credential, or one that is unknown, revoked or expired; nothing was done',
      headers: z.object({
        'WWW-Authenticate': z
          .string()
          .regex(/^Bearer\b/)
          .meta({ description: 'The challenge: `Bearer realm="sagas"`' }),
      }),
    },
    403: { description: `The credential has none of the roles ${roles.join(', ')}; nothing was done` },
    429: {
      description:
        'This credential made more than API_RATE_LIMIT requests in API_RATE_LIMIT_WINDOW_SECONDS; nothing was done. ' +
        'Every answer carries the IETF draft-8 `RateLimit` and `RateLimit-Policy` headers',
      headers: RetryAfter.extend({
        RateLimit: z.string().meta({ description: 'What is left: `"<policy>"; r=<remaining>; t=<seconds to reset>`' }),
        'RateLimit-Policy': z.string().meta({ description: 'The limit: `"<policy>"; q=<requests>; w=<seconds>`' }),
      }),
    },
  };
}

function response(status: number, spec: ResponseSpec) {
  const isProblem = status >= 400;
  const contentType = spec.contentType ?? (isProblem ? 'application/problem+json' : 'application/json');
  const schema = isProblem ? ProblemComponent : spec.schema;
  const headers = (spec.headers ?? z.object({})).extend({
    ...RequestId.shape,
    ...(status === 503 ? RetryAfter.shape : {}),
  });
  return {
    description: spec.description,
    headers,
    ...(spec.links ? { links: spec.links } : {}),
    // 204: no body, so no content at all.
    ...(status === 204 ? {} : { content: { [contentType]: schema ? { schema } : {} } }),
  };
}

function operation(operationId: string, op: Operation): ZodOpenApiOperationObject {
  const { params, query, headers, body, bodyOptional, bodyType } = op.request;
  const bodyMediaType = bodyType === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
  const isPublic = op.roles === 'public';
  const roles = op.roles === 'public' ? [] : [...op.roles];
  const responses = isPublic ? op.responses : { ...op.responses, ...guardedResponses(roles) };
  const needs = isPublic ? 'Public: no credential needed.' : `Needs the role ${roles.join(' or ')}.`;
  return {
    operationId,
    summary: op.summary,
    description: op.description ? `${op.description}\n\n${needs}` : needs,
    tags: [op.tag],
    security: isPublic ? [] : [{ apiKey: [] }, { jwt: [] }, ...(op.sessionCookie ? [{ codecSession: [] }] : [])],
    'x-roles': roles,
    ...(params || query || headers
      ? {
          requestParams: {
            ...(params ? { path: params } : {}),
            ...(query ? { query } : {}),
            ...(headers ? { header: headers } : {}),
          },
        }
      : {}),
    ...(body ? { requestBody: { required: !bodyOptional, content: { [bodyMediaType]: { schema: body } } } } : {}),
    responses: Object.fromEntries(
      Object.entries(responses).map(([status, spec]) => [status, response(Number(status), spec)]),
    ),
  };
}

/** The OpenAPI 3.1 document, generated from the table of operations by zod-openapi. */
export function openApiDocument(table: Record<string, Operation> = operations): Record<string, unknown> {
  const paths: ZodOpenApiPathsObject = {};
  for (const [operationId, op] of Object.entries(table)) {
    (paths[openApiPath(op.path)] ??= {})[op.method] = operation(operationId, op);
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Durable sagas API',
      version: '0.1.0',
      description:
        'Order sagas on Temporal with participants in MongoDB. Every error is application/problem+json (RFC 9457). ' +
        'Every operation but health, readiness and this document needs a bearer credential (an API key or a JWT) ' +
        'with one of the roles it names: `reader` (reads), `writer` (participant data, saga starts) or ' +
        '`operator` (cancel, retry-compensation, approve, reject; webhook subscriptions; saga configuration).',
    },
    tags: [
      {
        name: 'sagas',
        description:
          'Every saga type, generated from its definition: the catalogue, then per type start, list, read, cancel, retry, follow and the compensation plan',
      },
      { name: 'orders', description: 'Order sagas' },
      { name: 'participants', description: 'Participant data: customers, products, vehicles' },
      {
        name: 'transport-orders',
        description: 'Transport order sagas (docs/sagas.md), with their parcels and transport vehicles',
      },
      { name: 'loyalty', description: "A customer's loyalty (an entity workflow): completed orders and discounts" },
      { name: 'operations', description: 'Health, readiness, metrics, this document' },
      { name: 'codec', description: "Temporal's codec server protocol: payloads encrypted at rest (docs/security.md)" },
      { name: 'webhooks', description: 'Subscriptions to domain events, delivered as signed POSTs (docs/events.md)' },
      {
        name: 'saga-config',
        description: "Each saga type's stored configuration, versioned: call modes, timeouts, retries (docs/sagas.md)",
      },
    ],
    paths,
    components: { securitySchemes },
  }) as unknown as Record<string, unknown>;
}

import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import { openApiPath, type Operation, type ResponseSpec } from './operation';
import { operations } from './operations';
import { Problem } from './schemas';

/** `Retry-After` of every 503: whole seconds. */
const RetryAfter = z.object({
  'Retry-After': z
    .string()
    .regex(/^[0-9]+$/)
    .meta({ description: 'Seconds to wait before retrying' }),
});

const ProblemComponent = Problem.meta({ id: 'Problem' });

function response(status: number, spec: ResponseSpec) {
  const isProblem = status >= 400;
  const contentType = spec.contentType ?? (isProblem ? 'application/problem+json' : 'application/json');
  const schema = isProblem ? ProblemComponent : spec.schema;
  const headers = status === 503 ? (spec.headers ?? z.object({})).extend(RetryAfter.shape) : spec.headers;
  return {
    description: spec.description,
    ...(headers ? { headers } : {}),
    ...(spec.links ? { links: spec.links } : {}),
    content: { [contentType]: schema ? { schema } : {} },
  };
}

function operation(operationId: string, op: Operation): ZodOpenApiOperationObject {
  const { params, query, headers, body, bodyOptional } = op.request;
  return {
    operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    ...(op.roles ? { 'x-roles': [...op.roles] } : {}),
    ...(params || query || headers
      ? {
          requestParams: {
            ...(params ? { path: params } : {}),
            ...(query ? { query } : {}),
            ...(headers ? { header: headers } : {}),
          },
        }
      : {}),
    ...(body ? { requestBody: { required: !bodyOptional, content: { 'application/json': { schema: body } } } } : {}),
    responses: Object.fromEntries(
      Object.entries(op.responses).map(([status, spec]) => [status, response(Number(status), spec)]),
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
        'Order sagas on Temporal with participants in MongoDB. Every error is application/problem+json (RFC 9457).',
    },
    tags: [
      { name: 'orders', description: 'Order sagas' },
      { name: 'participants', description: 'Participant data: customers, products, vehicles' },
      {
        name: 'transport-orders',
        description: 'Transport order sagas (docs/sagas.md), with their parcels and transport vehicles',
      },
      { name: 'loyalty', description: "A customer's loyalty (an entity workflow): completed orders and discounts" },
      { name: 'operations', description: 'Health, readiness, this document' },
      { name: 'codec', description: "Temporal's codec server protocol: payloads encrypted at rest (docs/security.md)" },
    ],
    paths,
  }) as unknown as Record<string, unknown>;
}

import { Client, Connection } from '@temporalio/client';
import express, { type Express } from 'express';
import { MongoClient } from 'mongodb';
import { createApp } from '../../api/app';
import { openApiPath } from '../../api/operation';
import { openApiDocument } from '../../api/openapi';
import { operations } from '../../api/operations';
import { testAuthenticator } from '../support/lane';

/**
 * The document lists every route Express answers, and Express answers every operation the document lists: both
 * come from the table of operations, and nothing may be registered beside it. (Swagger UI under `/docs` is the
 * only thing served that is not an operation of the API.)
 */

interface Layer {
  name: string;
  rawPath?: string;
  slash?: boolean;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every `METHOD /path` (OpenAPI-style path) the app's router stack answers; `USE /path` for mounted middleware. */
function answeredRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const mount = layer.slash || !layer.rawPath ? '' : layer.rawPath;
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          for (const method of Object.keys(layer.route.methods)) {
            found.push(`${method.toUpperCase()} ${openApiPath(prefix + p)}`);
          }
        }
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, prefix + mount);
      } else if (mount) {
        found.push(`USE ${prefix + mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found;
}

const isSwaggerUi = (route: string) => /^(GET|USE) \/docs(\/|$)/.test(route);

function documentedRoutes(): string[] {
  const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

function testApp(): { app: Express; close: () => Promise<void> } {
  // Nothing is called: the router stack is only read.
  const mongo = new MongoClient('mongodb://127.0.0.1:1');
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const app = createApp({
    temporal: new Client({ connection }),
    db: mongo.db('routes'),
    taskQueue: 'routes',
    bodyLimit: 1000,
    auth: testAuthenticator(),
  });
  return { app, close: () => mongo.close() };
}

test('every route Express answers is in the OpenAPI document, and every documented operation is answered', async () => {
  const { app, close } = testApp();
  try {
    const answered = [...new Set(answeredRoutes(app).filter((r) => !isSwaggerUi(r)))].sort();
    const documented = documentedRoutes().sort();
    expect(answered).toEqual(documented);
    expect(documented).toHaveLength(Object.keys(operations).length);
    expect(answeredRoutes(app).filter(isSwaggerUi)).toEqual([
      'GET /docs',
      'GET /docs/',
      'GET /docs/init.js',
      'USE /docs',
    ]);
  } finally {
    await close();
  }
});

test('a route registered beside the table is found as undocumented', async () => {
  const { app, close } = testApp();
  try {
    const admin = express.Router();
    admin.delete('/customers/:id', (_req, res) => void res.end());
    app.use('/admin', admin);
    app.get('/stray', (_req, res) => void res.end());
    const undocumented = answeredRoutes(app).filter((r) => !isSwaggerUi(r) && !documentedRoutes().includes(r));
    expect(undocumented).toEqual(['DELETE /admin/customers/{id}', 'GET /stray']);
  } finally {
    await close();
  }
});

test("every link of the document leads to one of its operations, with that operation's path parameters", () => {
  const doc = openApiDocument() as {
    paths: Record<
      string,
      Record<string, { operationId: string; responses: Record<string, { links?: Record<string, object> }> }>
    >;
  };
  const pathOf = new Map(
    Object.entries(doc.paths).flatMap(([path, methods]) => Object.values(methods).map((op) => [op.operationId, path])),
  );
  const links = Object.values(doc.paths).flatMap((methods) =>
    Object.values(methods).flatMap((op) => Object.values(op.responses).flatMap((r) => Object.values(r.links ?? {}))),
  ) as { operationId: string; parameters: Record<string, string> }[];
  expect(links.length).toBeGreaterThan(10);
  for (const link of links) {
    const path = pathOf.get(link.operationId);
    expect([link.operationId, path]).toEqual([link.operationId, expect.any(String)]);
    for (const param of Object.keys(link.parameters)) expect(path).toContain(`{${param}}`);
  }
});

import path from 'node:path';
import express, { Router } from 'express';
import { openApiDocument } from '../openapi';
import type { Handlers } from '../operations';

/** The swagger-ui-dist package's folder (the package ships no types, so no import). */
const swaggerUiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Durable sagas API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

const init = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });\n`;

/** `GET /openapi.json`: the document generated from the table of operations. */
export function docsHandlers(): Pick<Handlers, 'openapi'> {
  const document = openApiDocument();
  return {
    openapi: (_input, _req, res) => {
      res.json(document);
    },
  };
}

/** Swagger UI at `/docs` from the swagger-ui-dist package (no CDN), reading `/openapi.json`. Not an operation. */
export function docsRoutes(): Router {
  const router = Router();
  router.get(['/docs', '/docs/'], (_req, res) => {
    res.type('html').send(page);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(init);
  });
  router.use('/docs', express.static(swaggerUiDir, { index: false, fallthrough: true }));
  return router;
}

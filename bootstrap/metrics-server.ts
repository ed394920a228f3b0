import http from 'node:http';
import type { Registry } from 'prom-client';

/**
 * `GET /metrics` (Prometheus' text format) of `registry` on `address` (`host:port`, IPv6 hosts in brackets; port 0:
 * a free one); nothing else (404). For the processes without an HTTP server of their own (the relay, the intake).
 * Resolves once it listens; rejects if it cannot (a taken port).
 */
export function serveMetrics(registry: Registry, address: string): Promise<http.Server> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

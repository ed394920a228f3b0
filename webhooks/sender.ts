import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { addressProblem, guardedLookup } from './address-guard';

export interface AttemptOutcome {
  /** The receiver's status, or null when none came. */
  statusCode: number | null;
  /** Null for a 2xx; else why the attempt counts as failed (no secret or body in it). */
  error: string | null;
  durationMs: number;
}

/** Most of a receiver's answer read (then dropped): enough to let a keep-alive connection be reused. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * One POST of a webhook: node's http(s) client with the address guard as its DNS lookup (and the same check for an
 * IP literal host), no redirect followed (a 3xx is a failure that says where it pointed), no proxy, and a timeout
 * over the whole attempt. Never throws: every failure is an outcome.
 */
export function sendWebhook({
  url,
  body,
  headers,
  timeoutMs,
}: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
}): Promise<AttemptOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    const clock: { timer?: NodeJS.Timeout } = {};
    const done = (outcome: Omit<AttemptOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(clock.timer);
      resolve({ ...outcome, durationMs: elapsed() });
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return done({ statusCode: null, error: 'the URL does not parse' });
    }
    const host = target.hostname;
    const literal = host.replace(/^\[|\]$/g, '');
    if (isIP(literal)) {
      const problem = addressProblem(host, literal);
      if (problem) return done({ statusCode: null, error: `refused: ${problem}` });
    }
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'durable-sagas-webhooks/1',
      },
      lookup: guardedLookup(host),
      agent: false,
    });
    clock.timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const refused = err.name === 'AddressRefusedError';
      done({ statusCode: null, error: refused ? `refused: ${err.message}` : describe(err) });
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) res.destroy();
      });
      const finish = () => {
        if (status >= 200 && status < 300) return done({ statusCode: status, error: null });
        if (status >= 300 && status < 400) {
          const location = res.headers.location ? ` to ${res.headers.location.slice(0, 200)}` : '';
          return done({ statusCode: status, error: `redirect${location} not followed` });
        }
        done({ statusCode: status, error: `answered ${status}` });
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.end(body);
  });
}

/** A connection error as a short line: its code and message (no body, no headers). */
function describe(err: NodeJS.ErrnoException): string {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

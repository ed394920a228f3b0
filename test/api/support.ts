import { spawn, type ChildProcess } from 'node:child_process';
import { payloadKeyEnv } from '../../codec/data-converter';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { openApiDocument } from '../../api/openapi';
import { repoRoot } from '../../scripts/lib/servers';
import { authHeaders, type Harness } from '../support/harness';
import { requireEnv, testApiKeysEntry } from '../support/lane';

export interface SseEvent {
  event: string;
  data: unknown;
  id?: string;
}

/** Reads a Server-Sent Events stream until the server closes it (or `signal` aborts). */
export async function readEvents(
  url: string,
  {
    signal,
    onEvent,
    headers = {},
  }: { signal?: AbortSignal; onEvent?: (e: SseEvent) => void; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; events: SseEvent[]; body?: unknown }> {
  const res = await fetch(url, { signal, headers: { ...authHeaders(), ...headers } });
  if (res.headers.get('content-type')?.startsWith('text/event-stream') !== true) {
    return { status: res.status, headers: res.headers, events: [], body: await res.json() };
  }
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields = Object.fromEntries(
          block
            .split('\n')
            .filter((line) => !line.startsWith(':') && line.includes(':'))
            .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
        );
        if (fields.event === undefined) continue; // `retry:` or a comment
        const event: SseEvent = { event: fields.event, data: JSON.parse(fields.data ?? 'null'), id: fields.id };
        events.push(event);
        onEvent?.(event);
      }
    }
  } catch (err) {
    if (!(signal?.aborted ?? false)) throw err;
  }
  return { status: res.status, headers: res.headers, events };
}

/**
 * Calls `fn` every 250 ms until `ok` accepts its value, and returns that value. Throws when `timeoutMs` passes
 * first, saying what it waited for (`what`, by default the source of `ok`) and the last value seen.
 */
export async function eventually<T>(
  fn: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 15_000,
  what = ok.toString(),
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      const last = JSON.stringify(value)?.slice(0, 1000);
      throw new Error(`eventually: not reached within ${timeoutMs} ms: ${what}; last value: ${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>
  >;
  components: { schemas: Record<string, object> };
};

/**
 * Checks responses against the OpenAPI document the API serves and records which operation+status pairs
 * were seen, so that a test can assert that every documented response was exercised.
 */
export class ContractChecker {
  readonly doc = openApiDocument() as unknown as Doc;
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly seen = new Set<string>();

  constructor() {
    this.ajv.addSchema({ $id: 'openapi', components: this.doc.components }, 'openapi');
  }

  /** Every `METHOD path status` the document describes. */
  documented(): string[] {
    return Object.entries(this.doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, op]) =>
        Object.keys(op.responses).map((status) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
  }

  /** True when the operation's documented JSON request body schema accepts `body`. */
  acceptsBody(method: string, path: string, body: unknown): boolean {
    const op = this.doc.paths[path]?.[method.toLowerCase()] as
      { requestBody?: { content: Record<string, { schema: object }> } } | undefined;
    const schema = op?.requestBody?.content['application/json']?.schema;
    if (!schema) throw new Error(`${method} ${path} documents no JSON request body`);
    return this.ajv.compile(schema)(body);
  }

  /** Throws unless the response's status, content type and body are the documented ones. */
  check(method: string, path: string, res: { status: number; headers: Headers; body?: unknown }): void {
    const op = this.doc.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`${method} ${path} is not documented`);
    const spec = op.responses[String(res.status)];
    if (!spec) throw new Error(`${method} ${path} answered ${res.status}, which is not documented`);
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (!spec.content) {
      // Documented without content (204): none may come.
      if (contentType || (res.body !== undefined && res.body !== '')) {
        throw new Error(`${method} ${path} ${res.status} answered a body, documented: none`);
      }
      this.seen.add(`${method.toUpperCase()} ${path} ${res.status}`);
      return;
    }
    const media = spec.content[contentType];
    if (!media) {
      throw new Error(
        `${method} ${path} ${res.status} answered ${contentType}, documented: ${Object.keys(spec.content).join(', ')}`,
      );
    }
    if (media.schema && contentType !== 'text/event-stream') {
      const schema = JSON.parse(
        JSON.stringify(media.schema).replaceAll('"#/components', '"openapi#/components'),
      ) as object;
      const validate = this.ajv.compile(schema);
      if (!validate(res.body)) {
        throw new Error(
          `${method} ${path} ${res.status} body does not match the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body)}`,
        );
      }
    }
    if (res.status === 503 && !res.headers.get('retry-after'))
      throw new Error(`${method} ${path} 503 without Retry-After`);
    this.seen.add(`${method.toUpperCase()} ${path} ${res.status}`);
  }
}

/** The real entry points run as processes (`tsx bootstrap/api-main.ts`, `tsx bootstrap/worker-main.ts`). */
export const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

/** The environment of an entry point run against the harness's servers, database and task queue. */
export function processEnv(h: Harness, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    TEMPORAL_ADDRESS: requireEnv('TEMPORAL_ADDRESS'),
    MONGODB_URI: requireEnv('MONGODB_URI'),
    MONGODB_DB: h.db.databaseName,
    TASK_QUEUE: h.taskQueue,
    HOST: '127.0.0.1',
    PORT: '0',
    ...payloadKeyEnv(),
    API_KEYS: testApiKeysEntry(),
    ...extra,
  };
}

/**
 * Starts `node --import tsx <entry>`, one process as the Dockerfile and docker-compose run it (the `tsx` command
 * is a second process that relays signals and SIGKILLs the program when it does not acknowledge a SIGTERM within
 * 30 ms, which a busy machine misses); `started` resolves once its output matches `ready`, and rejects if it
 * exits first.
 */
export function startProcess(entry: string, ready: RegExp, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const streams = { stdout: '', stderr: '' };
  // The exit code, or the signal that ended the process (so that a failed expectation says which).
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const started = new Promise<RegExpMatchArray>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      streams.stdout += chunk.toString();
      const match = output.match(ready);
      if (match) resolve(match);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      streams.stderr += chunk.toString();
    });
    void exited.then((code) => reject(new Error(`${entry} exited with ${code}: ${output}`)));
  });
  /** Both streams as they came (`output`), or each alone (whole lines: a line is not cut by the other's). */
  return { child, started, exited, output: () => output, stdout: () => streams.stdout, stderr: () => streams.stderr };
}

export const killIfRunning = (child: ChildProcess) => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};

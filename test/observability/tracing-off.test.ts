import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { payloadKeyEnv } from '../../codec/data-converter';
import { tracingSettings } from '../../bootstrap/tracing';
import { repoRoot } from '../../scripts/lib/servers';
import { orderBody, unique } from '../support/fixtures';
import { http, requireEnv } from '../support/harness';
import { testApiKeysEntry } from '../support/lane';
import { eventually, killIfRunning, startProcess } from '../api/support';

/**
 * Tracing is off unless an OTEL_* exporter variable is set (bootstrap/tracing.ts): then the API and the worker load
 * no part of the SDK, answer without `traceparent`, and run sagas as before. And the variables themselves are
 * checked at start, a wrong one named.
 */
const taskQueue = unique('untraced');

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    TEMPORAL_ADDRESS: requireEnv('TEMPORAL_ADDRESS'),
    MONGODB_URI: requireEnv('MONGODB_URI'),
    MONGODB_DB: `${requireEnv('MONGODB_DB')}_${taskQueue}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60),
    TASK_QUEUE: taskQueue,
    HOST: '127.0.0.1',
    PORT: '0',
    WORKFLOW_BUNDLE_PATH: requireEnv('WORKFLOW_BUNDLE_PATH'),
    ...payloadKeyEnv(),
    API_KEYS: testApiKeysEntry(),
    SERVED_COUNTRIES: 'IE',
    ...extra,
  };
}

/** Which OpenTelemetry packages a process has loaded once the entry point's first import has run. */
function loadedByFirstImport(extra: NodeJS.ProcessEnv): string[] {
  const script =
    "require('./bootstrap/tracing-api'); console.log(JSON.stringify([...new Set(Object.keys(require.cache)" +
    '.map((f) => /node_modules\\/(@opentelemetry\\/[^/]+|@temporalio\\/interceptors-opentelemetry)/.exec(f)?.[1])' +
    '.filter(Boolean))].sort()))';
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...extra },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
}

describe('with no OTEL_* variable', () => {
  const children: ReturnType<typeof startProcess>[] = [];
  afterAll(async () => {
    for (const child of children) {
      child.child.kill('SIGTERM');
      await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      killIfRunning(child.child);
    }
  }, 30_000);

  test('the entry point loads no part of the SDK; with an endpoint it loads it', () => {
    expect(loadedByFirstImport({})).toEqual([]);
    expect(loadedByFirstImport({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toEqual(
      expect.arrayContaining(['@opentelemetry/sdk-node', '@opentelemetry/instrumentation-http']),
    );
  }, 60_000);

  test('the API and the worker run sagas untraced, and answers carry no traceparent', async () => {
    const worker = startProcess('bootstrap/worker-main.ts', /Worker polling/, env());
    children.push(worker);
    const api = startProcess('bootstrap/api-main.ts', /listening on http:\/\/127\.0\.0\.1:(\d+)/, env());
    children.push(api);
    const apiUrl = `http://127.0.0.1:${(await api.started)[1]}`;
    await worker.started;
    for (const child of [worker, api]) expect(child.output()).not.toContain('Tracing:');

    const s = { customerId: unique('cust'), sku: unique('sku') };
    const customer = await http(apiUrl, 'POST', '/customers', { id: s.customerId, name: 'C', creditLimit: 10_000 });
    expect(customer.headers.get('traceparent')).toBeNull();
    expect((await http(apiUrl, 'POST', '/products', { sku: s.sku, name: 'P', price: 10, stock: 10 })).status).toBe(201);
    expect((await http(apiUrl, 'POST', '/vehicles', { id: unique('van'), name: 'V', capacityPerDay: 5 })).status).toBe(
      201,
    );
    const body = orderBody(s);
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const res = await http(apiUrl, 'POST', '/orders', body, { traceparent });
    expect(res.status).toBe(202);
    expect(res.headers.get('traceparent')).toBeNull();
    await eventually(
      async () => (await http(apiUrl, 'GET', `/orders/${body.orderId}`)).body as { status?: string } | undefined,
      (state) => state?.status === 'COMPLETED',
      60_000,
    );
  }, 120_000);

  test('a traced worker refuses a prebuilt workflow bundle, which has no tracing interceptors', async () => {
    const worker = startProcess(
      'bootstrap/worker-main.ts',
      /Worker polling/,
      env({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }),
    );
    children.push(worker);
    await expect(worker.started).rejects.toThrow(/exited with 1/);
    expect(worker.output()).toContain('Invalid configuration: WORKFLOW_BUNDLE_PATH: a prebuilt workflow bundle');
  }, 60_000);
});

describe('the OTEL_* variables (tracingSettings)', () => {
  const on = (extra: NodeJS.ProcessEnv) => tracingSettings(extra, 'saga-api');

  test('off unless an exporter variable is set; OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn it off', () => {
    expect(on({})).toMatchObject({ enabled: false });
    expect(on({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatchObject({ enabled: false });
    expect(on({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toMatchObject({ enabled: false });
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(on({ ...endpoint, OTEL_SDK_DISABLED: 'true' })).toEqual({ enabled: false, why: 'OTEL_SDK_DISABLED=true' });
    expect(on({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toMatchObject({ enabled: false });
  });

  test('on with an endpoint or an exporter, under the default service name unless one is given', () => {
    expect(on({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/v1/traces' })).toMatchObject({
      enabled: true,
      serviceName: 'saga-api',
      explicitServiceName: false,
      destination: 'OTLP http/protobuf to https://collector/v1/traces',
      sampling: { kind: 'always_on' },
    });
    expect(on({ OTEL_TRACES_EXPORTER: 'console', OTEL_SERVICE_NAME: 'orders-api' })).toMatchObject({
      enabled: true,
      serviceName: 'orders-api',
      explicitServiceName: true,
      destination: 'console',
    });
    expect(
      on({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.name=edge',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
    ).toMatchObject({
      serviceName: 'edge',
      destination: 'OTLP grpc to http://c:4317',
      sampling: { kind: 'ratio', ratio: 0.25 },
    });
  });

  test.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL'],
    [{ OTEL_TRACES_EXPORTER: 'jaeger' }, "OTEL_TRACES_EXPORTER: 'jaeger' is not one of otlp, console, zipkin, none"],
    [{ OTEL_TRACES_EXPORTER: 'otlp,none' }, "OTEL_TRACES_EXPORTER: 'none' turns tracing off"],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http' }, 'OTEL_EXPORTER_OTLP_PROTOCOL: must be one of http/protobuf'],
    [{ OTEL_SDK_DISABLED: 'yes' }, 'OTEL_SDK_DISABLED: must be true or false'],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER: must be one of'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, 'OTEL_TRACES_SAMPLER_ARG: must be a'],
  ])('%j stops the process naming the variable', (extra, message) => {
    expect(() => on(extra)).toThrow(`Invalid configuration: ${message}`);
  });
});

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { dataConverterFromEnv, payloadKeyEnv } from '../../codec/data-converter';
import { orderWorkflowId } from '../../common/order';
import { sagaSpanAttributes as attr } from '../../common/tracing';
import { freePort, startJaeger, type Jaeger } from '../../scripts/lib/servers';
import { orderBody, unique, type Seeded } from '../support/fixtures';
import { http, requireEnv } from '../support/harness';
import { testApiKeysEntry } from '../support/lane';
import { eventually, killIfRunning, startProcess } from '../api/support';

/**
 * A real trace store: Jaeger v2 (scripts/setup.sh builds it into .tools/bin) receives the spans of the real worker
 * and API processes over OTLP, exactly as a deployment sends them (OTEL_EXPORTER_OTLP_ENDPOINT, nothing else), and
 * its query API gives back each order's trace: one trace from the HTTP request to every MongoDB call.
 *
 *   POST /orders (traceparent: the client's)                      saga-api
 *   └─ … StartWorkflow:orderSaga                                  saga-api
 *        └─ RunWorkflow:orderSaga                                 saga-worker (from the sandbox, by the sink)
 *           ├─ SagaStep:<step>  saga.step.outcome                 one per step, in order
 *           │  └─ StartActivity:<step> ─ RunActivity:<step>       the participant call (local or regular)
 *           │                            └─ mongodb.*             its MongoDB commands, values masked
 *           └─ SagaCompensation:<compensation>                    when a step failed, in reverse order
 *
 * The worker bundles its workflows at start (a prebuilt bundle has no tracing interceptors), and the traced
 * saga's history then replays on the tests' bundle, which has none: tracing can be turned on and off under
 * running sagas.
 */
const taskQueue = unique('traces');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracing-test-'));
const steps = ['priceOrder', 'reserveCredit', 'reserveInventory', 'processPayment', 'createShipment', 'reserveVehicle'];
/** Values that must never reach a span: the payment token and the address. */
const marker = randomBytes(6).toString('hex');
const personal = { token: `tok_${marker}`, line1: `${marker} Marker Street`, postalCode: `M${marker}` };

let jaeger: Jaeger;
let apiUrl: string;
let s: Seeded;
const children: ReturnType<typeof startProcess>[] = [];
let apiProcess: ReturnType<typeof startProcess>;
let workerProcess: ReturnType<typeof startProcess>;

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: { key: string; value: unknown }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** One trace as Jaeger's query API gives it (the v1-compatible JSON the UI reads); undefined until it has it. */
async function fetchTrace(traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET /api/traces/${traceId}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: JaegerTrace[] }).data[0];
}

/** A trace's spans with what the assertions need: the parent, the service, the tags as an object. */
class SpanTree {
  readonly spans: (JaegerSpan & { service: string; tag: Record<string, unknown>; parent?: string })[];
  constructor(readonly trace: JaegerTrace) {
    this.spans = trace.spans.map((span) => ({
      ...span,
      service: trace.processes[span.processID]?.serviceName ?? '?',
      tag: Object.fromEntries(span.tags.map((t) => [t.key, t.value])),
      parent: span.references.find((r) => r.refType === 'CHILD_OF')?.spanID,
    }));
  }
  named(name: string) {
    return this.spans.filter((span) => span.operationName === name);
  }
  one(name: string) {
    const found = this.named(name);
    if (found.length !== 1) {
      throw new Error(`${found.length} spans named ${name}; spans: ${this.spans.map((x) => x.operationName).join()}`);
    }
    return found[0]!;
  }
  byId(id: string | undefined) {
    return this.spans.find((span) => span.spanID === id);
  }
  /** Whether `ancestor` is on the way from `span` up to the root. */
  isUnder(span: { parent?: string }, ancestor: { spanID: string }): boolean {
    for (let p = this.byId(span.parent); p; p = this.byId(p.parent)) if (p.spanID === ancestor.spanID) return true;
    return false;
  }
  childrenOf(parent: { spanID: string }) {
    return this.spans.filter((span) => span.parent === parent.spanID);
  }
}

const newTraceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

async function orderStatus(orderId: string, url = apiUrl): Promise<string | undefined> {
  const res = await http(url, 'GET', `/orders/${orderId}`);
  return res.status === 200 ? (res.body as { status: string }).status : undefined;
}

/** Starts an order with a client's traceparent; its answer's traceparent, once the saga reached `status`. */
async function runOrder(body: ReturnType<typeof orderBody>, status: string, url = apiUrl) {
  const clientTraceparent = newTraceparent();
  const res = await http(url, 'POST', '/orders', body, { traceparent: clientTraceparent });
  expect(res.status).toBe(202);
  await eventually(
    () => orderStatus(body.orderId, url),
    (st) => st === status,
    60_000,
  );
  return { clientTraceparent, traceparent: res.headers.get('traceparent') };
}

/** Waits until Jaeger has the trace with every span named (the workflow's own span comes when the saga ends). */
async function traceWith(traceId: string, names: string[]): Promise<SpanTree> {
  const trace = await eventually(
    () => fetchTrace(traceId),
    (t) => t !== undefined && names.every((name) => t.spans.some((span) => span.operationName === name)),
    60_000,
    `trace ${traceId} with ${names.join(', ')}`,
  );
  return new SpanTree(trace!);
}

function processEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    TEMPORAL_ADDRESS: requireEnv('TEMPORAL_ADDRESS'),
    MONGODB_URI: requireEnv('MONGODB_URI'),
    MONGODB_DB: `${requireEnv('MONGODB_DB')}_${taskQueue}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60),
    HOST: '127.0.0.1',
    PORT: '0',
    ...payloadKeyEnv(),
    API_KEYS: testApiKeysEntry(),
    SERVED_COUNTRIES: 'IE',
    ...extra,
  };
}

beforeAll(async () => {
  const [otlpHttpPort, otlpGrpcPort, queryPort, queryGrpcPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  jaeger = await startJaeger({
    otlpHttpPort,
    otlpGrpcPort,
    queryPort,
    queryGrpcPort,
    dir,
    logFile: path.join(dir, 'jaeger.log'),
    truncateLog: true,
  });
  // Only the standard variable turns tracing on; the short batch delay gets the spans to Jaeger sooner.
  const traced = processEnv({
    TASK_QUEUE: taskQueue,
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  // At debug the worker writes a line per activity attempt, under the activity's span.
  const worker = (workerProcess = startProcess('bootstrap/worker-main.ts', /Worker polling/, {
    ...traced,
    LOG_LEVEL: 'debug',
  }));
  children.push(worker);
  const api = (apiProcess = startProcess('bootstrap/api-main.ts', /listening on http:\/\/127\.0\.0\.1:(\d+)/, traced));
  children.push(api);
  apiUrl = `http://127.0.0.1:${(await api.started)[1]}`;
  await worker.started;
  expect(worker.output()).toContain("Tracing: spans of service 'saga-worker' go by OTLP http/protobuf");
  expect(api.output()).toContain("Tracing: spans of service 'saga-api' go by OTLP http/protobuf");

  s = await seedThrough(apiUrl);
}, 180_000);

afterAll(async () => {
  for (const child of children) {
    child.child.kill('SIGTERM');
    await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    killIfRunning(child.child);
  }
  await jaeger?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Customer, product and vehicle through the API at `url`. */
async function seedThrough(url: string): Promise<Seeded> {
  const seeded = { customerId: unique('cust'), sku: unique('sku') };
  const creates = [
    ['/customers', { id: seeded.customerId, name: 'C', creditLimit: 10_000 }],
    ['/products', { sku: seeded.sku, name: 'P', price: 10, stock: 1000 }],
    ['/vehicles', { id: unique('van'), name: 'Van', capacityPerDay: 10 }],
  ] as const;
  for (const [path, body] of creates) expect([path, (await http(url, 'POST', path, body)).status]).toEqual([path, 201]);
  return seeded;
}

/** An order body whose token and address are the markers that must stay out of every span. */
function markedOrder(overrides: Parameters<typeof orderBody>[1] = {}) {
  const body = orderBody(s, overrides);
  return {
    ...body,
    payment: { token: overrides.token ?? personal.token },
    shippingAddress: { ...body.shippingAddress, line1: personal.line1, postalCode: personal.postalCode },
  };
}

test('one order is one trace: the request, the start, the saga, each step with its outcome, each activity and its MongoDB calls', async () => {
  const body = markedOrder();
  const { clientTraceparent, traceparent } = await runOrder(body, 'COMPLETED');
  // The request's trace is continued, and the answer names the API's own span in it.
  const [, traceId, clientSpanId] = clientTraceparent.split('-');
  expect(traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  const serverSpanId = traceparent!.split('-')[2];
  // The logs name the trace: the API's request line (its span) and the worker's activity lines carry its id.
  const linesOfTrace = (out: string) =>
    out
      .split('\n')
      .filter((line) => line.includes(body.orderId))
      .filter((line) => line.includes(`"traceId":"${traceId}"`));
  await eventually(
    () => Promise.resolve([linesOfTrace(apiProcess.output()).length, linesOfTrace(workerProcess.output()).length]),
    ([api, worker]) => api! > 0 && worker! > 0,
    15_000,
    'log lines with the trace id',
  );
  expect(serverSpanId).not.toBe(clientSpanId);

  const tree = await traceWith(traceId!, [
    'RunWorkflow:orderSaga',
    ...steps.map((step) => `RunActivity:${step}`),
    'RunActivity:recordCompletedOrder',
  ]);
  // The API's server span: a child of the client's span, named by the route.
  const server = tree.byId(serverSpanId)!;
  expect(server).toMatchObject({ service: 'saga-api', parent: clientSpanId, operationName: 'POST /orders' });
  expect(server.tag).toMatchObject({ 'span.kind': 'server', 'http.route': '/orders' });
  // The Temporal client's start, inside the request; the workflow's span is its child, in the worker.
  const start = tree.one('StartWorkflow:orderSaga');
  expect(start.service).toBe('saga-api');
  expect(tree.isUnder(start, server)).toBe(true);
  const saga = tree.one('RunWorkflow:orderSaga');
  expect(saga).toMatchObject({ service: 'saga-worker', parent: start.spanID });
  expect(saga.tag).toMatchObject({
    [attr.type]: 'order',
    [attr.id]: body.orderId,
    [attr.status]: 'COMPLETED',
    workflowId: orderWorkflowId(body.orderId),
  });

  // Each step: a span of the saga's, in order, with its outcome; the participant call under it, in the worker.
  const stepSpans = steps.map((step) => tree.one(`SagaStep:${step}`));
  expect(stepSpans.map((span) => span.parent)).toEqual(steps.map(() => saga.spanID));
  expect(stepSpans.map((span) => span.tag[attr.outcome])).toEqual(steps.map(() => 'completed'));
  expect(stepSpans.map((span) => span.tag[attr.step])).toEqual(steps);
  expect(tree.one('SagaStep:reserveCredit').tag[attr.compensation]).toBe('releaseCredit');
  const starts = stepSpans.map((span) => span.startTime);
  expect([...starts].sort((a, b) => a - b)).toEqual(starts);
  for (const [i, step] of steps.entries()) {
    const activity = tree.one(`RunActivity:${step}`);
    expect({ step, service: activity.service, under: tree.isUnder(activity, stepSpans[i]!) }).toEqual({
      step,
      service: 'saga-worker',
      under: true,
    });
    // Local activities are traced too; processPayment is the one regular step.
    expect({ step, local: activity.tag['temporal.activity.local'] }).toEqual({
      step,
      local: step !== 'processPayment',
    });
    expect(activity.tag['temporal.activity.attempt']).toBe(1);
  }

  // The participants' MongoDB calls are under their activities (the API's own reads under its request), and the
  // statements have no values.
  const mongo = tree.spans.filter((span) => span.tag['db.system'] === 'mongodb');
  const credit = tree.one('RunActivity:reserveCredit');
  expect(mongo.filter((span) => tree.isUnder(span, credit)).length).toBeGreaterThan(0);
  const activities = tree.spans.filter((span) => span.operationName.startsWith('RunActivity:'));
  for (const span of mongo) {
    const parent = span.service === 'saga-api' ? 'the request' : 'an activity';
    const under =
      span.service === 'saga-api' ? tree.isUnder(span, server) : activities.some((a) => tree.isUnder(span, a));
    expect({ span: span.operationName, parent, under }).toEqual({ span: span.operationName, parent, under: true });
  }
  const statements = mongo.map((span) => (span.tag['db.statement'] as string | undefined) ?? '');
  expect(statements.some((st) => st.includes('"?"'))).toBe(true);
  expect(statements.join('\n')).not.toContain(s.customerId);

  // The completed order signals the customer's loyalty workflow, in the same trace.
  const loyalty = tree.one('SignalWithStartWorkflow:customerLoyalty');
  expect(tree.isUnder(loyalty, tree.one('RunActivity:recordCompletedOrder'))).toBe(true);

  // Nothing personal anywhere in the trace: not the token, not the address.
  const json = JSON.stringify(tree.trace);
  for (const value of Object.values(personal)) expect(json).not.toContain(value);

  // Its history replays on the tests' bundle, which has no tracing interceptors: tracing can be switched off.
  const connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  try {
    const client = new Client({ connection, dataConverter: dataConverterFromEnv() });
    const history = await client.workflow.getHandle(orderWorkflowId(body.orderId)).fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') }, dataConverter: dataConverterFromEnv() },
      history,
      orderWorkflowId(body.orderId),
    );
  } finally {
    await connection.close();
  }
}, 120_000);

test('a declined payment shows the failed step and the compensations, in reverse order, each with its activity', async () => {
  const body = markedOrder({ token: 'tok_declined' });
  const { clientTraceparent } = await runOrder(body, 'COMPENSATED');
  const traceId = clientTraceparent.split('-')[1]!;
  const compensations = ['refundPayment', 'releaseInventory', 'releaseCredit'];
  const tree = await traceWith(traceId, [
    'RunWorkflow:orderSaga',
    ...compensations.map((name) => `RunActivity:${name}`),
  ]);
  const saga = tree.one('RunWorkflow:orderSaga');
  expect(saga.tag[attr.status]).toBe('COMPENSATED');

  const payment = tree.one('SagaStep:processPayment');
  expect(payment.tag).toMatchObject({ [attr.outcome]: 'failed', [attr.failureType]: 'PaymentDeclined', error: true });
  expect(tree.one('RunActivity:processPayment').tag).toMatchObject({ error: true });
  // The steps after it never ran.
  expect(tree.named('SagaStep:createShipment')).toEqual([]);
  expect(tree.named('SagaStep:reserveVehicle')).toEqual([]);

  const undo = compensations.map((name) => tree.one(`SagaCompensation:${name}`));
  expect(undo.map((span) => span.parent)).toEqual(compensations.map(() => saga.spanID));
  expect(undo.map((span) => span.tag[attr.outcome])).toEqual(compensations.map(() => 'compensated'));
  expect(undo.map((span) => span.tag[attr.step])).toEqual(['processPayment', 'reserveInventory', 'reserveCredit']);
  // Reverse order of the steps, one after the other (each is a regular activity: its own workflow task).
  for (let i = 1; i < undo.length; i++) expect(undo[i]!.startTime).toBeGreaterThan(undo[i - 1]!.startTime);
  for (const [i, name] of compensations.entries()) {
    expect({ name, under: tree.isUnder(tree.one(`RunActivity:${name}`), undo[i]!) }).toEqual({ name, under: true });
  }

  const json = JSON.stringify(tree.trace);
  for (const value of [personal.line1, personal.postalCode, 'tok_declined']) expect(json).not.toContain(value);
}, 120_000);

test('with API_EMBEDDED_WORKER=true the API traces its own worker: the same tree, in one process', async () => {
  // A task queue and a database of its own: no other worker takes its sagas or writes its participants' documents.
  const queue = unique('traces-embedded');
  const api = startProcess(
    'bootstrap/api-main.ts',
    /listening on http:\/\/127\.0\.0\.1:(\d+)/,
    processEnv({
      TASK_QUEUE: queue,
      MONGODB_DB: `${requireEnv('MONGODB_DB')}_${queue}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60),
      API_EMBEDDED_WORKER: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    }),
  );
  children.push(api);
  const url = `http://127.0.0.1:${(await api.started)[1]}`;
  const seeded = await seedThrough(url);
  const { clientTraceparent } = await runOrder(orderBody(seeded), 'COMPLETED', url);
  const tree = await traceWith(clientTraceparent.split('-')[1]!, [
    'RunWorkflow:orderSaga',
    'RunActivity:reserveVehicle',
  ]);
  const start = tree.one('StartWorkflow:orderSaga');
  const saga = tree.one('RunWorkflow:orderSaga');
  expect(saga).toMatchObject({ service: 'saga-api', parent: start.spanID });
  for (const step of steps) {
    const activity = tree.one(`RunActivity:${step}`);
    expect({ step, service: activity.service, under: tree.isUnder(activity, tree.one(`SagaStep:${step}`)) }).toEqual({
      step,
      service: 'saga-api',
      under: true,
    });
  }
}, 180_000);

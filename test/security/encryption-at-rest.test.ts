/**
 * Payloads are encrypted at rest (docs/security.md): sagas run with distinctive token, address and city values
 * through a real file-backed dev server (its own, in a temp dir: the test runner's is in memory), then the dev
 * server's SQLite files, database and WAL, are read byte for byte. With encryption on none of the values is in
 * them; with encryption off (the same test, other values) they are, so the search can fail. `temporal workflow
 * show` without the codec shows only encrypted payloads, and the search attributes and memo of a started saga hold
 * none of the values (the rule of docs/security.md).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { MongoClient } from 'mongodb';
import { createApp } from '../../api/app';
import { dataConverterFromEnv, sagaDataConverter } from '../../codec/data-converter';
import { orderWorkflowId } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { connectMongo } from '../../store/db';
import { freePort, startTemporalDevServer, tools, type TemporalDevServer } from '../../scripts/lib/servers';
import { waitForSagaStatus } from '../../scripts/lib/wait';
import { createSagaWorker } from '../../workers/create-worker';
import { http, requireEnv } from '../support/harness';
import { servedCountries, testAuthenticator } from '../support/lane';

jest.setTimeout(240_000);

let dir: string;
let temporal: TemporalDevServer;
let mongo: MongoClient;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed already by another test of this worker process
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'encryption-at-rest-'));
  temporal = await startTemporalDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal.log'),
  });
  const dbName = `${requireEnv('MONGODB_DB')}_at_rest_${randomUUID().slice(0, 6)}`;
  mongo = (await connectMongo(requireEnv('MONGODB_URI'), dbName)).client;
});

afterAll(async () => {
  await mongo
    ?.db()
    .dropDatabase()
    .catch(() => undefined);
  await mongo?.close();
  await temporal?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Markers {
  token: string;
  line1: string;
  city: string;
}

const markersFor = (what: string): Markers => {
  const tag = randomUUID().replace(/-/g, '').slice(0, 10);
  return { token: `tok_${what}${tag}`, line1: `${tag} ${what} Marker Lane`, city: `${what}ville${tag}` };
};

/** The dev server's SQLite files (database, WAL, shared memory) as one latin1 string. */
function sqliteBytes(): string {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('temporal.db'))
    .map((f) => fs.readFileSync(path.join(dir, f)).toString('latin1'))
    .join('\n');
}

/**
 * Runs `count` sagas with the markers through the real API and worker on the file-backed server, the payloads
 * encrypted or not, and returns their workflow ids once they completed.
 */
async function runSagas(markers: Markers, encrypted: boolean, count = 3): Promise<string[]> {
  const dataConverter = encrypted ? dataConverterFromEnv() : sagaDataConverter(undefined);
  const taskQueue = `at-rest-${encrypted ? 'on' : 'off'}-${randomUUID().slice(0, 6)}`;
  const native = await NativeConnection.connect({ address: temporal.address });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, dataConverter });
  const db = mongo.db();
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let server: Server | undefined;
  try {
    worker = await createSagaWorker({
      connection: native,
      namespace: 'default',
      taskQueue,
      db,
      servedCountries,
      temporal: client,
      dataConverter,
      workflowBundle: { codePath: requireEnv('WORKFLOW_BUNDLE_PATH') },
      shutdownGraceSeconds: 2,
    });
    running = worker.run();
    server = createApp({ temporal: client, db, taskQueue, bodyLimit: 100_000, auth: testAuthenticator() }).listen(
      0,
      '127.0.0.1',
    );
    await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const customerId = `cust-${taskQueue}`;
    const sku = `sku-${taskQueue}`;
    const vehicle = `van-${taskQueue}`;
    expect((await http(baseUrl, 'POST', '/customers', { id: customerId, name: 'C', creditLimit: 10_000 })).status).toBe(
      201,
    );
    expect((await http(baseUrl, 'POST', '/products', { sku, name: 'P', price: 10, stock: 100 })).status).toBe(201);
    expect((await http(baseUrl, 'POST', '/vehicles', { id: vehicle, name: 'Van', capacityPerDay: 100 })).status).toBe(
      201,
    );
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const orderId = `at-rest-${taskQueue}-${i}`;
      const body = {
        orderId,
        customerId,
        items: [{ sku, quantity: 1 }],
        payment: { token: markers.token },
        shippingAddress: { line1: markers.line1, city: markers.city, postalCode: 'D01 F5P2', country: 'IE' },
        deliveryDate: '2027-02-01',
      };
      // with an Idempotency-Key, so that the memo the API sets is part of what is checked
      const res = await http(baseUrl, 'POST', '/orders', body, { 'Idempotency-Key': `key-${orderId}` });
      expect(res.status).toBe(202);
      ids.push(orderWorkflowId(orderId));
    }
    for (const id of ids) {
      await waitForSagaStatus(client.workflow.getHandle(id), [SagaStatus.COMPLETED], { timeoutMs: 90_000 });
    }
    return ids;
  } finally {
    if (server) {
      const s = server;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection.close();
    await native.close();
  }
}

const anyMarker = (m: Markers) => new RegExp([m.token, m.line1, m.city].join('|'));

describe("the dev server's SQLite files", () => {
  let encryptedIds: string[];
  const secret = markersFor('Secret');

  test('with encryption on, hold none of the sagas’ tokens, addresses or cities', async () => {
    encryptedIds = await runSagas(secret, true);
    const bytes = sqliteBytes();
    expect(bytes.length).toBeGreaterThan(100_000);
    // the sagas are in there (their workflow ids are plain text by design), their data is not
    expect(bytes).toContain(encryptedIds[0]);
    expect(bytes).not.toMatch(anyMarker(secret));
  });

  test('with encryption off, hold them (the search above can fail)', async () => {
    const plain = markersFor('Plain');
    await runSagas(plain, false, 1);
    const bytes = sqliteBytes();
    expect(bytes).toContain(plain.token);
    expect(bytes).toContain(plain.city);
    expect(bytes).not.toMatch(anyMarker(secret));
  });

  test('`temporal workflow show` without the codec shows only encrypted payloads', () => {
    const out = execFileSync(
      tools.temporal,
      ['workflow', 'show', '--workflow-id', encryptedIds[0]!, '--output', 'json', '--address', temporal.address],
      { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } },
    );
    expect(out).not.toMatch(anyMarker(secret));
    const history = JSON.parse(out) as { events: Record<string, unknown>[] };
    const started = history.events[0]!.workflowExecutionStartedEventAttributes as {
      input: { payloads: { metadata: Record<string, string> }[] };
    };
    const encodings = started.input.payloads.map((p) => Buffer.from(p.metadata.encoding!, 'base64').toString());
    expect(encodings).toEqual(['binary/encrypted']);
  });

  test('search attributes and memo of a started saga hold none of its data; the memo value is encrypted', async () => {
    const connection = await Connection.connect({ address: temporal.address });
    try {
      // straight from Temporal's API, no codec: what anyone reading Temporal sees
      const description = await connection.workflowService.describeWorkflowExecution({
        namespace: 'default',
        execution: { workflowId: encryptedIds[0]! },
      });
      const info = description.workflowExecutionInfo!;
      const fields = { searchAttributes: info.searchAttributes, memo: info.memo };
      const text = JSON.stringify(fields, (_k, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
      );
      expect(text).not.toMatch(anyMarker(secret));
      const memo = info.memo?.fields ?? {};
      expect(Object.keys(memo)).toEqual(['idempotencyKey']);
      expect(Buffer.from(memo.idempotencyKey!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    } finally {
      await connection.close();
    }
  });
});

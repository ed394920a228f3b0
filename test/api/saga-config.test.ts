import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fieldErrors } from '../../common/field-errors';
import { sagaConfigSchema } from '../../common/shapes/saga-config';
import { repoRoot } from '../../scripts/lib/servers';
import { latestSagaConfig, putSagaConfig, sagaConfigCollection, sagaConfigHistory } from '../../store/saga-config';
import { http, requireEnv, startHarness, type Harness } from '../support/harness';
import { ContractChecker, tsx } from './support';

let h: Harness;
const contract = new ContractChecker();
beforeAll(async () => {
  h = await startHarness('sagaconfigapi');
});
afterAll(async () => h?.stop());
beforeEach(async () => {
  await sagaConfigCollection(h.db).deleteMany({});
});

const col = () => sagaConfigCollection(h.db);
const as = (role: 'operator' | 'reader' | 'writer' | 'metrics') => ({ authorization: `Bearer ${h.keys[role]}` });

/** Calls the API and checks the answer against the document. */
async function call(method: string, urlPath: string, body?: unknown, headers = as('operator')) {
  const res = await http(h.baseUrl, method, urlPath, body, headers);
  contract.check(method, urlPath, res);
  return res;
}

describe('the store', () => {
  const author = { by: 'store-test', byKind: 'cli' } as const;

  test('every put is a new version, 1, 2, 3 per saga type; the history keeps each with who and when, newest first', async () => {
    const before = new Date();
    for (const attempts of [3, 4, 5]) {
      await putSagaConfig(
        col(),
        'order',
        { presets: { participant: { retry: { maximumAttempts: attempts } } } },
        author,
      );
    }
    await putSagaConfig(col(), 'transport-order', {}, author);
    expect(await latestSagaConfig(col(), 'order')).toMatchObject({
      _id: 'order:3',
      version: 3,
      config: { presets: { participant: { retry: { maximumAttempts: 5 } } } },
      createdBy: author,
    });
    const history = await sagaConfigHistory(col(), 'order');
    expect(history.map((d) => [d.version, d.config.presets?.participant?.retry?.maximumAttempts])).toEqual([
      [3, 5],
      [2, 4],
      [1, 3],
    ]);
    for (const doc of history) expect(doc.createdAt.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    expect((await sagaConfigHistory(col(), 'transport-order')).map((d) => d.version)).toEqual([1]);
    expect(await latestSagaConfig(col(), 'nothing-stored')).toBeNull();
  });

  test('concurrent puts each get a version of their own: none lost, none twice, no gap', async () => {
    const puts = Array.from({ length: 12 }, (_, i) =>
      putSagaConfig(col(), 'order', { presets: { participant: { retry: { maximumAttempts: i + 1 } } } }, author),
    );
    const stored = await Promise.all(puts);
    expect(stored.map((d) => d.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const history = await sagaConfigHistory(col(), 'order');
    expect(history).toHaveLength(12);
    const attempts = history.map((d) => d.config.presets?.participant?.retry?.maximumAttempts).sort((a, b) => a! - b!);
    expect(attempts).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });
});

describe('the API', () => {
  test('an operator puts a configuration, reads it back and its history; each put a new version', async () => {
    expect((await call('GET', '/saga-config/order')).status).toBe(404);
    expect((await call('GET', '/saga-config/order/history')).body).toEqual({ items: [] });

    const first = await call('PUT', '/saga-config/order', { steps: { reserveVehicle: { mode: 'regular' } } });
    expect(first.status).toBe(200);
    expect(first.headers.get('location')).toBe('/saga-config/order');
    expect(first.body).toMatchObject({
      sagaType: 'order',
      version: 1,
      config: { steps: { reserveVehicle: { mode: 'regular' } } },
      createdBy: { by: 'test-operator', byKind: 'api-key' },
    });
    const second = await call('PUT', '/saga-config/order', {
      presets: { compensation: { startToCloseTimeoutMs: 5000 } },
    });
    expect(second.body).toMatchObject({ version: 2 });
    expect((await call('GET', '/saga-config/order')).body).toEqual(second.body);
    const history = await call('GET', '/saga-config/order/history');
    const items = history.body.items as { version: number }[];
    expect(items.map((v) => v.version)).toEqual([2, 1]);
    expect(history.body.items[1]).toEqual(first.body);
    // Another type has its own versions.
    const transport = await call('PUT', '/saga-config/transport-order', {
      steps: { awaitDecision: { deadlineSeconds: 3600 } },
    });
    expect(transport.body).toMatchObject({ sagaType: 'transport-order', version: 1 });
  });

  test.each([
    ['GET', '/saga-config/order'],
    ['PUT', '/saga-config/order'],
    ['GET', '/saga-config/order/history'],
    ['PUT', '/saga-config/transport-order'],
    ['GET', '/saga-config/transport-order/history'],
  ])(
    '%s %s: operators only (401 without a credential, 403 for reader, writer, metrics); nothing stored',
    async (method, urlPath) => {
      const body = method === 'PUT' ? {} : undefined;
      const none = await call(method, urlPath, body, { authorization: '' });
      expect(none.status).toBe(401);
      for (const role of ['reader', 'writer', 'metrics'] as const) {
        const refused = await call(method, urlPath, body, as(role));
        expect([role, refused.status]).toEqual([role, 403]);
      }
      expect(await col().countDocuments()).toBe(0);
    },
  );

  test.each([
    [
      'an unknown step',
      { steps: { shipTwice: { mode: 'regular' } } },
      [['body.steps.shipTwice', 'is not a known field']],
    ],
    [
      'a local mode with a preset that has no local variant',
      { steps: { reserveCredit: { mode: 'local', preset: 'compensation' } } },
      [['body.steps.reserveCredit.preset', expect.any(String)]],
    ],
    [
      'a negative and an absurd timeout',
      {
        steps: { reserveCredit: { mode: 'local', startToCloseTimeoutMs: -5 } },
        presets: { participant: { startToCloseTimeoutMs: 86_400_000 } },
      },
      [
        ['body.presets.participant.startToCloseTimeoutMs', 'must be at most 3600000'],
        ['body.steps.reserveCredit.startToCloseTimeoutMs', 'must be at least 100'],
      ],
    ],
    [
      'unknown fields at every level',
      { colour: 'red', presets: { participant: { retry: { maximumAttempts: 2, jitter: true } } } },
      [
        ['body.colour', 'is not a known field'],
        ['body.presets.participant.retry.jitter', 'is not a known field'],
      ],
    ],
    [
      'an unknown preset, a mode that does not exist, a deadline on a saga without a wait',
      { presets: { untilDone: {} }, steps: { priceOrder: { mode: 'remote' }, awaitDecision: { deadlineSeconds: 5 } } },
      [
        ['body.presets.untilDone', 'is not a known field'],
        ['body.steps.awaitDecision', 'is not a known field'],
        ['body.steps.priceOrder.mode', expect.any(String)],
      ],
    ],
  ])('%s: 400 naming each field, nothing stored', async (_name, body, expected) => {
    const res = await call('PUT', '/saga-config/order', body);
    expect(res.status).toBe(400);
    const named = (res.body.errors as { path: string; message: string }[]).map((e) => [e.path, e.message]);
    expect(named.sort()).toEqual(expected.sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
    expect(await col().countDocuments()).toBe(0);
  });

  test('the transport order takes a deadline for its wait, bounded: 0 and over 30 days are refused', async () => {
    for (const deadlineSeconds of [0, 30 * 86_400 + 1, 1.5]) {
      const res = await call('PUT', '/saga-config/transport-order', { steps: { awaitDecision: { deadlineSeconds } } });
      expect([deadlineSeconds, res.status, res.body.errors[0].path]).toEqual([
        deadlineSeconds,
        400,
        'body.steps.awaitDecision.deadlineSeconds',
      ]);
    }
    expect(await col().countDocuments()).toBe(0);
  });

  test('an unknown saga type has no configuration route: 404', async () => {
    expect((await http(h.baseUrl, 'PUT', '/saga-config/invoice', {}, as('operator'))).status).toBe(404);
  });
});

test('a step whose own preset has no local variant may run locally only with a preset that has one', () => {
  const schema = sagaConfigSchema({
    nodes: [{ name: 'notify', type: 'step', preset: 'compensation' }],
    presets: ['participant', 'compensation'],
    localPresets: ['participant'],
  });
  const local = schema.safeParse({ steps: { notify: { mode: 'local' } } });
  expect(local.success ? [] : fieldErrors(local.error).map((e) => e.path)).toEqual(['steps.notify.preset']);
  expect(schema.safeParse({ steps: { notify: { mode: 'local', preset: 'participant' } } }).success).toBe(true);
  expect(schema.safeParse({ steps: { notify: { mode: 'regular' } } }).success).toBe(true);
});

describe('npm run saga-config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'saga-config-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: unknown) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { PATH: process.env.PATH, MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: h.db.databaseName };
    try {
      const { stdout, stderr } = await promisify(execFile)(tsx, ['scripts/saga-config.ts', ...args], {
        cwd: repoRoot,
        env,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  test('put stores a new version (who: --by), get prints the latest, history every version; the API sees them', async () => {
    const put = await cli(
      'put',
      'order',
      file('a.json', { steps: { reserveVehicle: { mode: 'regular' } } }),
      '--by',
      'ada',
    );
    expect(put).toMatchObject({ code: 0 });
    expect(JSON.parse(put.stdout)).toMatchObject({ version: 1, createdBy: { by: 'ada', byKind: 'cli' } });
    expect((await cli('put', 'order', file('b.json', {}))).code).toBe(0);
    const got = await cli('get', 'order');
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ sagaType: 'order', version: 2, config: {} });
    const history = await cli('history', 'order');
    const { items } = JSON.parse(history.stdout) as { items: { version: number }[] };
    expect(items.map((v) => v.version)).toEqual([2, 1]);
    expect((await call('GET', '/saga-config/order')).body).toMatchObject({ version: 2, createdBy: { byKind: 'cli' } });
  }, 60_000);

  test('an invalid file exits 1 naming each field, and stores nothing; not JSON exits 1 too', async () => {
    const bad = await cli(
      'put',
      'order',
      file('bad.json', {
        steps: { shipTwice: { mode: 'regular' }, reserveCredit: { mode: 'local', startToCloseTimeoutMs: -1 } },
      }),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('steps.shipTwice: is not a known field');
    expect(bad.stderr).toContain('steps.reserveCredit.startToCloseTimeoutMs: must be at least 100');
    expect(bad.stderr).toContain('nothing stored');
    expect((await cli('put', 'order', file('text.json', 'not json'))).code).toBe(1);
    expect((await cli('get', 'order')).code).toBe(1); // nothing stored yet
    expect(await col().countDocuments()).toBe(0);
  }, 60_000);

  test.each([
    [[]],
    [['frobnicate', 'order']],
    [['get', 'invoice']],
    [['put', 'order']],
    [['put', 'order', '/no/such/file.json']],
    [['history']],
  ])(
    'usage error %j: exit 2 with the usage',
    async (args) => {
      const res = await cli(...args);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('usage: npm run saga-config');
    },
    60_000,
  );
});

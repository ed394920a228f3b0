/**
 * The rooms import one way, and `npm run lint` fails on a wrong-way import: the repository's own ESLint
 * configuration (`import/no-restricted-paths` in eslint.config.mjs) lints probe sources as if they were files of
 * each room. ESLint's Node API (`lintText` with a `filePath` in the room) runs in a child process, because it loads
 * the configuration with a dynamic `import()` that jest's module sandbox does not offer. The file paths are real
 * files of each room (the type-aware rules need a file the TypeScript project knows); only the text is the probe's.
 */
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../scripts/lib/servers';

interface Probe {
  /** A file of the room the probe stands in for. */
  filePath: string;
  code: string;
}

const lintScript = `
import { ESLint } from 'eslint';
const probes = JSON.parse(process.argv[1]);
const eslint = new ESLint({ cwd: process.cwd() });
const results = [];
for (const { filePath, code } of probes) {
  const [result] = await eslint.lintText(code, { filePath });
  results.push(result.messages.map(({ ruleId, message, severity, fatal }) => ({ ruleId, message, severity, fatal })));
}
process.stdout.write(JSON.stringify(results));
`;

interface LintMessage {
  ruleId: string | null;
  message: string;
  severity: number;
  fatal?: boolean;
}

/** A file of each room, to lint probe text as. */
const fileOf = {
  api: 'api/errors.ts',
  common: 'common/attempted.ts',
  store: 'store/keys.ts',
  activities: 'activities/index.ts',
  workflows: 'workflows/index.ts',
  workers: 'workers/sizing.ts',
  bootstrap: 'bootstrap/config.ts',
  codec: 'codec/aes-gcm-codec.ts',
  webhooks: 'webhooks/sender.ts',
  broker: 'broker/topology.ts',
} as const;
type Room = keyof typeof fileOf;

const valueImport = (from: string) => `import * as probe from '${from}';\nexport { probe };\n`;

/** Imports that must fail the lint, by room. */
const wrongWay: [Room, string][] = [
  ['api', '../activities'],
  ['api', '../workers/create-worker'],
  ['api', '../bootstrap/start-api'],
  ['common', '../store/db'],
  ['common', '../activities'],
  ['common', '../api/errors'],
  ['common', '../workflows'],
  ['store', '../activities'],
  ['store', '../api/app'],
  ['store', '../workers/sizing'],
  ['store', '../workflows'],
  ['store', '../bootstrap/config'],
  ['activities', '../api/app'],
  ['activities', '../workers/create-worker'],
  ['activities', '../bootstrap/config'],
  ['activities', '../workflows'],
  ['workflows', '../store/db'],
  ['workflows', '../api/app'],
  ['workflows', '../workers/sizing'],
  ['workflows', '../bootstrap/config'],
  ['workers', '../api/app'],
  ['workers', '../bootstrap/config'],
  ['workflows', '../codec/data-converter'],
  ['codec', '../api/app'],
  ['codec', '../workers/sizing'],
  ['codec', '../store/db'],
  ['common', '../codec/aes-gcm-codec'],
  ['webhooks', '../api/app'],
  ['webhooks', '../bootstrap/config'],
  ['webhooks', '../activities'],
  ['api', '../webhooks/sender'],
  ['store', '../webhooks/sender'],
  ['common', '../broker/topology'],
  ['store', '../broker/topology'],
  ['workflows', '../broker/topology'],
  ['broker', '../api/app'],
  ['broker', '../activities'],
  ['broker', '../workers/sizing'],
  ['broker', '../bootstrap/config'],
  ['broker', '../api/sagas/start'],
];

/** Imports that are the right way, by room (as code, since some are type-only). */
const rightWay: [Room, string, string][] = [
  ['api', '../store/db', valueImport('../store/db')],
  ['api', '../common/order', valueImport('../common/order')],
  [
    'api',
    'type ../workflows',
    "import type { orderSaga } from '../workflows';\nexport type Probe = typeof orderSaga;\n",
  ],
  ['common', 'zod', valueImport('zod')],
  ['common', './definitions', valueImport('./definitions')],
  ['store', '../common/attempted', valueImport('../common/attempted')],
  ['activities', '../store/db', valueImport('../store/db')],
  [
    'workflows',
    'type ../activities',
    "import type { Activities } from '../activities';\nexport type Probe = Activities;\n",
  ],
  ['workers', '../activities', valueImport('../activities')],
  ['bootstrap', '../api/app', valueImport('../api/app')],
  ['bootstrap', '../workers/create-worker', valueImport('../workers/create-worker')],
  ['api', '../codec/aes-gcm-codec', valueImport('../codec/aes-gcm-codec')],
  ['workers', '../codec/data-converter', valueImport('../codec/data-converter')],
  ['codec', '../common/config', valueImport('../common/config')],
  ['webhooks', '../store/webhooks', valueImport('../store/webhooks')],
  ['webhooks', '../codec/secret-box', valueImport('../codec/secret-box')],
  ['bootstrap', '../webhooks/dispatcher', valueImport('../webhooks/dispatcher')],
  ['broker', '../store/domain-events', valueImport('../store/domain-events')],
  ['broker', '../common/domain-events', valueImport('../common/domain-events')],
  ['activities', '../broker/topology', valueImport('../broker/topology')],
  ['bootstrap', '../broker/connection', valueImport('../broker/connection')],
  ['broker', '../common/shapes/order', valueImport('../common/shapes/order')],
  ['bootstrap', '../broker/order-intake', valueImport('../broker/order-intake')],
];

let wrongResults: LintMessage[][];
let rightResults: LintMessage[][];

beforeAll(() => {
  const probes: Probe[] = [
    ...wrongWay.map(([room, from]) => ({ filePath: fileOf[room], code: valueImport(from) })),
    ...rightWay.map(([room, , code]) => ({ filePath: fileOf[room], code })),
  ];
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', lintScript, JSON.stringify(probes)], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 170_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`linting the probes failed (${run.status}): ${run.stderr}`);
  const results = JSON.parse(run.stdout) as LintMessage[][];
  wrongResults = results.slice(0, wrongWay.length);
  rightResults = results.slice(wrongWay.length);
}, 180_000);

const restricted = (messages: LintMessage[]) => messages.filter((m) => m.ruleId === 'import/no-restricted-paths');

describe('import/no-restricted-paths', () => {
  test.each(wrongWay.map(([room, from], i) => [room, from, i] as const))(
    '%s/ importing %s is a lint error naming the room',
    (room, _from, i) => {
      const messages = wrongResults[i]!;
      expect(messages.filter((m) => m.fatal)).toEqual([]);
      const errors = restricted(messages);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ severity: 2, message: expect.stringContaining(`${room}/ must not import`) });
    },
  );

  test.each(rightWay.map(([room, from], i) => [room, from, i] as const))(
    '%s/ importing %s is allowed',
    (_room, _from, i) => {
      const messages = rightResults[i]!;
      expect(messages.filter((m) => m.fatal)).toEqual([]);
      expect(restricted(messages)).toEqual([]);
    },
  );
});

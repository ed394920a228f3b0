// @ts-check
import fs from 'node:fs';
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';

/** The product's rooms. */
const productRooms = [
  'activities',
  'api',
  'bootstrap',
  'broker',
  'codec',
  'common',
  'store',
  'webhooks',
  'workers',
  'workflows',
];

/** Every folder of our own that code imports from: the product's rooms and the tooling around them. */
const localRooms = [...productRooms, 'scripts', 'test', 'bench'];

/**
 * `room` must not import from `forbidden` (folders of the repository).
 * @param {string} room
 * @param {string[]} forbidden
 * @param {string} why
 */
const zone = (room, forbidden, why) => ({
  target: `./${room}`,
  from: forbidden.map((folder) => `./${folder}`),
  message: `${room}/ must not import ${forbidden.join('/, ')}/: ${why}`,
});

/** The import directions between the rooms, enforced by `import/no-restricted-paths`. */
const roomZones = [
  zone(
    'api',
    ['activities', 'workers', 'bootstrap', 'webhooks'],
    'the API is Express plus a Temporal client; bootstrap/ wires it',
  ),
  zone(
    'common',
    localRooms.filter((room) => room !== 'common'),
    'what the rooms share imports only libraries',
  ),
  zone(
    'store',
    ['activities', 'api', 'broker', 'workers', 'workflows', 'bootstrap', 'webhooks'],
    'the data room serves activities/, api/, broker/ and webhooks/',
  ),
  zone(
    'activities',
    ['api', 'workers', 'bootstrap', 'workflows', 'webhooks'],
    'the business operations know only store/ and common/',
  ),
  zone(
    'workflows',
    ['store', 'api', 'broker', 'workers', 'bootstrap', 'codec', 'webhooks'],
    'workflows are deterministic code in a sandbox',
  ),
  zone(
    'broker',
    ['activities', 'api', 'workers', 'workflows', 'bootstrap', 'webhooks'],
    'the broker room (RabbitMQ connection, topology, outbox relay) knows only store/ and common/',
  ),
  zone(
    'codec',
    ['activities', 'api', 'bootstrap', 'broker', 'store', 'webhooks', 'workers', 'workflows'],
    'the payload codec knows only common/: every client, worker and the codec server use it',
  ),
  zone('workers', ['api', 'bootstrap', 'webhooks'], 'workers/ builds the saga worker; bootstrap/ wires it'),
  zone(
    'webhooks',
    ['activities', 'api', 'bootstrap', 'workers', 'workflows'],
    'the webhook dispatcher knows only store/, codec/ and common/; bootstrap/ wires it',
  ),
];

// The peers' engine files import SDKs that only bench/setup.sh installs (into bench/node_modules): linted, with
// their own tsconfig, where those are installed; everything else under bench/ always.
const benchPeers = ['bench/engines/dbos-app.ts', 'bench/engines/restate-service.ts'];
const benchPeersInstalled = fs.existsSync(new URL('./bench/node_modules/@restatedev/restate-sdk', import.meta.url));

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'bench/node_modules/**',
      '.tools/**',
      '.data/**',
      'dist/**',
      'coverage/**',
      'test-artifacts/**',
      ...(benchPeersInstalled ? [] : benchPeers),
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', '*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { import: importPlugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import/no-cycle': 'error',
      // Rooms import one way (README, "Architecture"). The rule sees type-only imports too; the one a room needs,
      // workflows importing the activities' types, is not a zone here but `no-restricted-imports` below.
      'import/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: roomZones }],
    },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js'] } } },
  },
  {
    files: benchPeers,
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: './bench/tsconfig.peers.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // Product code logs through its process's logger (bootstrap/logging.ts: pino, the SDK's replay-aware `log` in
    // workflows), never to the console; scripts and the benchmark, run by people, may print.
    files: productRooms.map((room) => `${room}/**/*.ts`),
    rules: { 'no-console': 'error' },
  },
  {
    // Workflows run in a deterministic sandbox: no Node built-ins, no I/O, activities as types only. So do the
    // workflow interceptor modules bundled with them (workers/create-worker.ts `workflowInterceptorModules`).
    files: ['workflows/**/*.ts', 'workers/interceptors/workflow-*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows must not use Node built-ins.' },
            {
              group: ['../activities', '../activities/*', '../../activities', '../../activities/*'],
              allowTypeImports: true,
              message: 'Import activities as types only.',
            },
            {
              group: ['zod', 'zod/*', '**/common/shapes/*'],
              allowTypeImports: true,
              message: 'Import shapes as types only: zod must not load inside the workflow sandbox.',
            },
            {
              group: [
                '**/common/config',
                'mongodb',
                'express',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
              ],
              message: 'Not available inside the workflow sandbox.',
            },
          ],
          paths: ['fs', 'path', 'os', 'crypto', 'http', 'https', 'net', 'child_process', 'process'],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'Workflows never read process.env.' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Use the SDK: it is replaced deterministically, but say so explicitly.',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);

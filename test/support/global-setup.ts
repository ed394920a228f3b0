import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from '../../codec/data-converter';
import { generateApiKey } from '../../store/api-keys';
import { workflowInterceptorModules, workflowsPath } from '../../workers/create-worker';

/** Bundles the workflows once for every test file, instead of once per worker. */
export default async function globalSetup(): Promise<void> {
  const missing = ['TEMPORAL_ADDRESS', 'MONGODB_URI'].filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(`${missing.join(' and ')} not set: run the tests with \`npm test\`, which starts the servers`);
  }
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules,
    failureConverterPath,
    logger: quietLogger,
  });
  const dir = join(__dirname, '..', '..', '.data', 'test-bundle');
  mkdirSync(dir, { recursive: true });
  const codePath = join(dir, `workflow-bundle-${process.pid}.js`);
  writeFileSync(codePath, code);
  process.env.WORKFLOW_BUNDLE_PATH = codePath;
  // The all-roles key every test API accepts and the test kit sends by default (test/support/lane.ts).
  process.env.TEST_API_KEY = generateApiKey().key;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

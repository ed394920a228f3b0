import { readFileSync } from 'node:fs';
import { requireEnv } from '../support/lane';

/**
 * The workflows run in a webpack-bundled sandbox: they import the zod shapes of `common/shapes/` as types only,
 * so the bundle that global-setup built (the one every test worker runs) carries no zod.
 */
test('the workflow bundle does not contain zod', () => {
  const bundle = readFileSync(requireEnv('WORKFLOW_BUNDLE_PATH'), 'utf8');
  expect(bundle.length).toBeGreaterThan(10_000);
  expect(bundle).toContain('orderSaga');
  expect(bundle).not.toMatch(/node_modules\/zod\//);
  expect(bundle).not.toContain('common/shapes/');
});

test("the prebuilt bundle carries the workflow interceptor modules (the sagas' log attributes)", () => {
  const bundle = readFileSync(requireEnv('WORKFLOW_BUNDLE_PATH'), 'utf8');
  expect(bundle).toContain('workers/interceptors/workflow-log-attributes');
});

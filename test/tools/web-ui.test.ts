/**
 * The Temporal Web UI of the dev server shows our sagas the way an operator needs them: found by the SagaStatus
 * search attribute; on the saga's page its run status and result (`"status": "COMPENSATED"`), every step and
 * compensation in the timeline — regular activities under their business summary ("refundPayment • Order <id>:
 * refund the charge"), steps run as local activities as markers named by their type (no summary in UI 2.54.1) — the
 * workflow's summary ("Order <id> for customer <id>", tab User Metadata), its search attributes, and who cancelled a
 * saga, when and why (the audited operator action, in the signal that carried it). Driven in
 * headless Debian Chromium with playwright-core (no browser download: scripts/setup-browser.sh installs the apt package when it is missing).
 * Screenshots go to test-artifacts/web-ui-*.png.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { getStateQuery } from '../../common/definitions';
import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { repoRoot } from '../../scripts/lib/servers';
import { pollUntil } from '../../scripts/lib/wait';
import { apiKeys, createApiKey } from '../../store/api-keys';
import { addVehicle, orderBody, seed, unique } from '../support/fixtures';
import { http, requireEnv, startHarness, waitForSaga, type Harness } from '../support/harness';
import { startTestApi, type TestApi } from '../support/lane';

const artifacts = path.join(repoRoot, 'test-artifacts');
let h: Harness;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let uiUrl: string;
let orderId: string;
let customerId: string;
/** An order an operator cancelled, with the name of the operator's key and the reason given. */
let cancelled: { orderId: string; by: string; reason: string };
let codecApi: TestApi | undefined;

beforeAll(async () => {
  uiUrl = requireEnv('TEMPORAL_UI_URL');
  // Idempotent: prints the browser's path, installing Debian's package first if it is missing.
  const executablePath = execFileSync('bash', [path.join(repoRoot, 'scripts', 'setup-browser.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  h = await startHarness('webui');
  // The dev server's UI decodes through the codec endpoint on CODEC_TEST_PORT (scripts/test.ts): the API serves it.
  codecApi = await startTestApi({ db: h.db, client: h.client }, h.taskQueue, Number(requireEnv('CODEC_TEST_PORT')));
  await addVehicle(h, 10);
  const seeded = await seed(h);
  customerId = seeded.customerId;
  const body = orderBody(seeded, { token: 'tok_declined' });
  orderId = body.orderId;
  expect((await http(h.baseUrl, 'POST', '/orders', body)).status).toBe(202);
  const state = await waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(orderId)));
  expect(state.status).toBe(SagaStatus.COMPENSATED);

  // An operator cancels another order while its payment is held, with a reason.
  cancelled = { orderId: '', by: unique('alice-ops'), reason: 'customer called to cancel' };
  const operator = await createApiKey(apiKeys(h.db), { name: cancelled.by, roles: ['operator', 'reader'] });
  const held = orderBody(seeded);
  cancelled.orderId = held.orderId;
  const heldHandle = h.client.workflow.getHandle(orderWorkflowId(held.orderId));
  h.hooks.hold(heldHandle.workflowId, 'processPayment', { maxHoldMs: 10_000 });
  expect((await http(h.baseUrl, 'POST', '/orders', held)).status).toBe(202);
  await pollUntil(
    'the saga reaches processPayment',
    () => heldHandle.query(getStateQuery) as Promise<OrderState>,
    (st) => st.steps.some((x) => x.name === 'processPayment'),
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const cancel = await http(
    h.baseUrl,
    'POST',
    `/orders/${held.orderId}/cancel`,
    { reason: cancelled.reason },
    { authorization: `Bearer ${operator.key}` },
  );
  expect(cancel.status).toBe(202);
  h.hooks.release(heldHandle.workflowId);
  expect((await waitForSaga<OrderState>(heldHandle)).status).toBe(SagaStatus.COMPENSATED);

  fs.mkdirSync(artifacts, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-ui-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1600, height: 1200 },
  });
  page = await context.newPage();
  // Summaries, inputs and results are encrypted: the UI shows them once this browser is signed in to the codec
  // endpoint, with a key that has the reader role alone.
  await includeCodecCredentials(`${codecApi.baseUrl}/codec`);
  await signInToCodec(codecApi.baseUrl, codecApi.keys.reader);
}, 600_000); // a first run may install the browser

afterAll(async () => {
  await context?.close();
  await codecApi?.stop();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  await h?.stop();
});

/**
 * What the Web UI's Codec Server settings store when a user picks "use my browser setting", keeps the endpoint the
 * dev server was given and checks "Include cross-origin credentials": the browser then sends the codec session's
 * cookie with every /codec call (docs/security.md).
 */
async function includeCodecCredentials(codecEndpoint: string): Promise<void> {
  await page.goto(uiUrl);
  await page.evaluate(`
    localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
    localStorage.setItem('endpoint', ${JSON.stringify(JSON.stringify(codecEndpoint))});
    localStorage.setItem('includeCredentials', 'true');
  `);
}

/** Signs this browser in to the codec endpoint with its sign-in form, as a user would. */
async function signInToCodec(baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/codec/session`);
  await page.getByLabel('Credential').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await see('Signed in as test-reader', { exact: false });
}

/** Waits until a visible element shows this text (the UI also keeps hidden copies, e.g. for tooltips). */
async function see(text: string | RegExp, options: { exact?: boolean } = {}): Promise<void> {
  await page.getByText(text, options).filter({ visible: true }).first().waitFor({ timeout: 30_000 });
}

describe('the Temporal Web UI shows our sagas', () => {
  test('a compensated saga is found by its SagaStatus search attribute, listed as Failed with its SagaCompensated failure, and shows its steps', async () => {
    const workflowId = orderWorkflowId(orderId);
    const query = `SagaStatus='COMPENSATED' AND CustomerId='${customerId}'`;
    await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const link = page.getByRole('link', { name: workflowId });
    await link.first().waitFor({ timeout: 30_000 });
    // Listed as Failed, not Completed: compensated is not completed (patched 'compensated-closes-failed').
    await see(/^failed$/i);
    expect(
      await page
        .getByText(/^completed$/i)
        .filter({ visible: true })
        .count(),
    ).toBe(0);
    await page.screenshot({ path: path.join(artifacts, 'web-ui-list.png'), fullPage: true });

    await link.first().click();
    await page.waitForURL(/\/workflows\/order-/, { timeout: 30_000 });
    try {
      // The run's status and, in the timeline, every step and compensation. Steps run as local activities
      // (patched 'local-participant-calls') show as markers named by their activity type only: UI 2.54.1 does not
      // show a local activity's summary in the timeline (it is in the marker event's user metadata). Regular
      // activities (processPayment, the compensations) show under their business summary.
      await see(workflowId, { exact: true });
      for (const localStep of ['priceOrder', 'reserveCredit', 'reserveInventory']) {
        await see(localStep, { exact: true });
      }
      for (const summary of [
        `processPayment • Order ${orderId}: charge 20`,
        `refundPayment • Order ${orderId}: refund the charge`,
        `releaseInventory • Order ${orderId}: put reserved stock back`,
        `releaseCredit • Order ${orderId}: release credit of customer ${customerId}`,
      ]) {
        await see(summary, { exact: true });
      }
      // Temporal's status of the run: compensated is not completed, the run closed as Failed with the typed
      // business failure whose message names the failed step and why.
      await see(/^failed$/i);
      await see('SagaCompensated', { exact: false });
      await see(`Compensated: step processPayment failed with PaymentDeclined`, { exact: false });
      await page.screenshot({ path: path.join(artifacts, 'web-ui-saga.png'), fullPage: true });

      // The summary the API gave the workflow at start.
      await page.getByText('User Metadata', { exact: true }).click();
      // Rendered as markdown inside a sandboxed iframe.
      await page
        .frameLocator('iframe#user-metadata-summary')
        .getByText(`Order ${orderId} for customer ${customerId}`, { exact: true })
        .first()
        .waitFor({ timeout: 30_000 });
      await page.screenshot({ path: path.join(artifacts, 'web-ui-summary.png'), fullPage: true });

      // The search attributes operators filter on.
      await page.getByText('Search Attributes', { exact: true }).click();
      for (const text of ['SagaStatus', 'COMPENSATED', 'CustomerId', customerId, 'OrderTotal']) {
        await see(text);
      }
      await page.screenshot({ path: path.join(artifacts, 'web-ui-search-attributes.png'), fullPage: true });
    } catch (err) {
      await page.screenshot({ path: path.join(artifacts, 'web-ui-failure.png'), fullPage: true });
      throw err;
    }
  });

  test('who cancelled a saga and why: the cancelRequested signal in its history, decoded, names the key and the reason', async () => {
    await page.goto(`${uiUrl}/namespaces/default/workflows/${orderWorkflowId(cancelled.orderId)}`);
    try {
      await see(orderWorkflowId(cancelled.orderId), { exact: true });
      // The signal's row in the history; its details hold the decoded input: the actor, its kind and the reason.
      await page.getByText('cancelRequested').filter({ visible: true }).first().click();
      for (const text of [cancelled.by, 'api-key', cancelled.reason]) await see(new RegExp(text));
      await page.screenshot({ path: path.join(artifacts, 'web-ui-operator-action.png'), fullPage: true });
    } catch (err) {
      await page.screenshot({ path: path.join(artifacts, 'web-ui-operator-action-failure.png'), fullPage: true });
      throw err;
    }
  });

  test("the saga's input is readable through the codec endpoint when signed in, and only ciphertext without", async () => {
    const workflowUrl = `${uiUrl}/namespaces/default/workflows/${orderWorkflowId(orderId)}`;
    const codecUrl = codecApi!.baseUrl;
    /** The workflow's page in a fresh tab: decoded (`readable`) or only ciphertext. */
    const expectPage = async (readable: boolean, screenshot: string) => {
      const tab = await context.newPage();
      try {
        await tab.goto(workflowUrl);
        await tab.getByText(orderWorkflowId(orderId), { exact: true }).first().waitFor({ timeout: 30_000 });
        if (readable) {
          // Input and result, decrypted by the API's /codec/decode (the UI calls it from the browser: CORS)
          for (const text of [/tok_declined/, /Dublin/]) {
            await tab.getByText(text).filter({ visible: true }).first().waitFor({ timeout: 30_000 });
          }
        } else {
          // The UI says it could not decode, and shows the payloads as they are stored: base64 of ciphertext.
          await tab
            .getByText('Codec Server could not connect')
            .filter({ visible: true })
            .first()
            .waitFor({ timeout: 30_000 });
          await tab.getByText('Input', { exact: true }).filter({ visible: true }).first().waitFor({ timeout: 30_000 });
          expect(await tab.locator('body').innerText()).not.toMatch(/tok_declined|Dublin|Main Street/);
        }
        await tab.screenshot({ path: path.join(artifacts, screenshot), fullPage: true });
      } finally {
        await tab.close();
      }
    };
    try {
      // Signed in (beforeAll) with a key that has the reader role alone: readable. The cookie holds a session
      // token, not the key.
      const cookie = (await context.cookies(`${codecUrl}/codec`)).find((c) => c.name === 'saga_codec_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/codec' });
      expect(cookie?.value).not.toContain(codecApi!.keys.reader);
      await expectPage(true, 'web-ui-decoded.png');

      // Signed out: the codec endpoint answers 401, and the page holds only ciphertext.
      await page.goto(`${codecUrl}/codec/session`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await see('Signed out.');
      await expectPage(false, 'web-ui-signed-out.png');

      // Signed in again, but the endpoint is gone (nothing answers there any more): ciphertext.
      await signInToCodec(codecUrl, codecApi!.keys.reader);
      await expectPage(true, 'web-ui-signed-in-again.png');
      await codecApi!.stop();
      codecApi = undefined;
      await expectPage(false, 'web-ui-encrypted.png');
    } catch (err) {
      await page.screenshot({ path: path.join(artifacts, 'web-ui-codec-failure.png'), fullPage: true });
      throw err;
    }
  });
});

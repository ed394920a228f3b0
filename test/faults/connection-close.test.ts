import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectDraining } from '../../bootstrap/temporal-connection';
import { freePort, startTemporalDevServer } from '../../scripts/lib/servers';

/**
 * The SDK's gRPC retry interceptor waits between attempts with a timer that `Connection.close()` does not clear;
 * a timer that fires after the close throws "Channel has been shut down" where nothing can catch it, and jest
 * fails the file that had it. The API and the worker close their client connections through `connectDraining`.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('closing while a failed call waits for its retry: the call fails, the close resolves, nothing throws later', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connection-close-'));
  const server = await startTemporalDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    logFile: path.join(dir, 'temporal.log'),
  });
  const draining = await connectDraining({ address: server.address });
  await server.stop(); // every call now fails UNAVAILABLE, which the SDK retries with backoff
  const call = draining.connection.workflowService.getSystemInfo({}).then(
    () => 'answered',
    (err: unknown) => `failed: ${(err as Error).message}`,
  );
  await sleep(500); // the first attempts failed; the next waits on a timer
  const closing = Date.now();
  await draining.close(8_000);
  expect(Date.now() - closing).toBeLessThan(8_000); // drained: the pending retry ran and was not retried again
  expect(await call).toMatch(/^failed: /);
  await sleep(6_000); // longer than the SDK's longest backoff (5 s): a timer left behind would have fired
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

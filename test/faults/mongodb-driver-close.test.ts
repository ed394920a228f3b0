import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { MongoClient, MongoNetworkError } from 'mongodb';
import { withTimeout } from '../../scripts/lib/wait';
import { requireEnv } from '../support/harness';

/**
 * The MongoDB driver as we ship it, patched (patches/mongodb+7.9.0.patch, applied by `npm ci`'s postinstall): a
 * command written to a connection whose socket has closed, before the socket's 'close' event has reached the
 * connection, fails with a network error. Unpatched, the driver's write waits for a 'drain' that a closed socket
 * never emits, and nothing else ends the wait (no 'error', and the socket's timeout is gone with it). When that
 * connection is the client's server monitor, the monitor never checks the server again: the pool stays paused and
 * every operation of that client fails server selection for ever, with a server that answers every new client. A
 * chaos run (`npm run chaos -- --sagas 200 …`, FerretDB restarted mid-run) wedged a worker that way; see
 * docs/faults.md, "The driver's monitor and a restarted server".
 */

// The driver's connection class and namespace helper: internals, not exported (the patch is in them).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Connection } = require('mongodb/lib/cmap/connection') as {
  Connection: new (
    socket: net.Socket,
    options: object,
  ) => {
    command(ns: unknown, cmd: object, options: object): Promise<unknown>;
  };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ns } = require('mongodb/lib/utils') as { ns: (namespace: string) => unknown };

test('a command on a connection whose socket closed before the write fails with a network error instead of waiting for ever', async () => {
  const server = net.createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const connection = new Connection(socket, {
      id: '<monitor>',
      generation: 0,
      hostAddress: { toString: () => `127.0.0.1:${port}` },
    });
    socket.destroy(); // as the peer's close leaves it: destroyed, its 'close' event not emitted yet

    const written = connection.command(ns('admin.$cmd'), { hello: 1 }, { socketTimeoutMS: 1_000 });

    // Unpatched, this is still pending when the 5 s are up (the test fails on the timeout's message).
    await expect(withTimeout(written, 5_000, 'still pending after 5 s')).rejects.toThrow(MongoNetworkError);
    await expect(written).rejects.toThrow(/closed/);
  } finally {
    server.close();
  }
});

test('a command too large for the socket buffer still waits for the drain and succeeds (the patched path, not closed)', async () => {
  const client = new MongoClient(requireEnv('MONGODB_URI'));
  const db = client.db(`${requireEnv('MONGODB_DB')}_driver_${randomUUID().slice(0, 8)}`);
  try {
    const big = 'x'.repeat(8 * 1024 * 1024); // far over a socket's send buffer: write() returns false, then 'drain'
    await db.collection('big').insertOne({ _id: 'big', big } as never);
    const doc = await db.collection<{ _id: string; big: string }>('big').findOne({ _id: 'big' });
    expect(doc?.big.length).toBe(big.length);
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
});

import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { MongoClient } from 'mongodb';
import { connectMongo } from '../activities/db';
import type { Config } from '../common/config';
import { createApp } from './app';

export interface RunningApi {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

/**
 * Connects to Temporal and MongoDB and listens. `stop()` stops accepting connections, ends event streams,
 * lets requests in flight finish, then closes the clients.
 */
export async function startApi(config: Config): Promise<RunningApi> {
  let mongo: MongoClient | undefined;
  let connection: Connection | undefined;
  try {
    const connected = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
    mongo = connected.client;
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const shutdown = new AbortController();
    const app = createApp({
      temporal,
      db: connected.db,
      taskQueue: config.TASK_QUEUE,
      bodyLimit: config.BODY_LIMIT,
      shutdown: shutdown.signal,
    });
    const server = app.listen(config.PORT, config.HOST);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const clients = { mongo, connection };
    return {
      server,
      port,
      async stop() {
        // Event streams end, /ready answers 503; requests in flight finish, then the clients close.
        shutdown.abort();
        await new Promise<void>((resolve) => {
          // Keep-alive connections that go idle once their request finished are closed too.
          const sweep = setInterval(() => server.closeIdleConnections(), 100);
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          server.closeIdleConnections();
        });
        await clients.connection.close();
        await clients.mongo.close();
      },
    };
  } catch (err) {
    await connection?.close();
    await mongo?.close();
    throw err;
  }
}

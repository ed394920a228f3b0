import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { collections } from '../activities/db';
import { errorHandler, notFoundHandler, requireJson } from './errors';
import { orderRoutes } from './routes/orders';
import { participantRoutes } from './routes/participants';

export interface AppDeps {
  temporal: Client;
  db: Db;
  taskQueue: string;
  bodyLimit: number;
}

/** The HTTP API: participant data and sagas. Every error leaves through `errorHandler`. */
export function createApp({ temporal, db, taskQueue, bodyLimit }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple'); // no nested objects from query strings
  app.use(requireJson);
  app.use(express.json({ limit: bodyLimit, strict: true }));
  app.use(participantRoutes(collections(db)));
  app.use(orderRoutes({ temporal, taskQueue }));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

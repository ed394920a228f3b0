/**
 * Restate deployment of the order saga: one `ctx.run` per participant call (the journal entry is
 * Restate's durable step), the same participant code against the same MongoDB-compatible server.
 */
import './node20-polyfill';
import * as restate from '@restatedev/restate-sdk';
import { createActivities } from '../../activities';
import { connectMongo } from '../../store/db';
import type { OrderSagaInput } from '../../common/order';
import { runOrderSaga } from '../lib/peer-saga';
import { SERVED_COUNTRIES } from '../lib/workload';
import { env } from './env';

async function run(): Promise<void> {
  const { db } = await connectMongo(env('MONGODB_URI'), env('MONGODB_DB'));
  const participants = createActivities({ db, servedCountries: SERVED_COUNTRIES });
  const orderSaga = restate.service({
    name: 'OrderSaga',
    handlers: {
      run: async (ctx: restate.Context, input: OrderSagaInput) =>
        runOrderSaga(input, participants, (name, fn) => ctx.run(name, fn)),
    },
  });
  const port = Number(env('PORT'));
  await restate.serve({ services: [orderSaga], port });
  console.log(`restate service ready on ${port}`);
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});

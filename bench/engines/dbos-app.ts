/**
 * DBOS Transact application of the order saga on PostgreSQL: one `DBOS.runStep` per participant
 * call (each step's result is checkpointed in Postgres), the same participant code against the same
 * MongoDB-compatible server. A tiny HTTP endpoint starts a saga and answers with its result.
 */
import http from 'node:http';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { createActivities } from '../../activities';
import { connectMongo } from '../../store/db';
import { orderWorkflowId, type OrderSagaInput } from '../../common/order';
import { runOrderSaga } from '../lib/peer-saga';
import { SERVED_COUNTRIES } from '../lib/workload';
import { env } from './env';

async function run(): Promise<void> {
  const { db } = await connectMongo(env('MONGODB_URI'), env('MONGODB_DB'));
  const participants = createActivities({ db, servedCountries: SERVED_COUNTRIES });
  DBOS.setConfig({ name: 'bench-saga', systemDatabaseUrl: env('DBOS_SYSTEM_DATABASE_URL'), runAdminServer: false });
  const orderSaga = DBOS.registerWorkflow(
    async (input: OrderSagaInput) =>
      runOrderSaga(input, participants, (name, fn) =>
        DBOS.runStep(fn, { name, retriesAllowed: true, maxAttempts: 8, intervalSeconds: 1, backoffRate: 2 }),
      ),
    { name: 'orderSaga' },
  );
  await DBOS.launch();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const input = JSON.parse(Buffer.concat(chunks).toString()) as OrderSagaInput;
          const handle = await DBOS.startWorkflow(orderSaga, { workflowID: orderWorkflowId(input.orderId) })(input);
          const result = await handle.getResult();
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
        } catch (err) {
          res.writeHead(500).end(String(err));
        }
      })();
    });
  });
  const port = Number(env('PORT'));
  server.listen(port, '127.0.0.1', () => console.log(`dbos app ready on ${port}`));
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});

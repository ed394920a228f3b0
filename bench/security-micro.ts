/**
 * What payload encryption and API authentication cost per operation, on this machine, with nothing else
 * of the service running: the AES-256-GCM codec encoding and decoding one payload of a saga's input (as the
 * worker, the API and the clients do), and the API's check of one bearer API key from API_KEYS (a SHA-256
 * hash and a constant-time compare). The median of repeated batches; figures for docs/security.md.
 *
 *   npx tsx bench/security-micro.ts
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { apiKeyAuthenticator } from '../api/auth';
import { parsePayloadKeys } from '../common/config';
import { AesGcmCodec } from '../codec/aes-gcm-codec';
import { generateKeyRingEnv } from '../codec/data-converter';
import { generateApiKey, hashApiKey } from '../store/api-keys';
import { median } from './lib/stats';
import { orderFailingAt } from './lib/workload';

const BATCH = 2_000;
const BATCHES = 15;

async function perOp(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) await fn();
    times.push(((performance.now() - t) * 1000) / BATCH);
  }
  return median(times);
}

async function main(): Promise<void> {
  const { PAYLOAD_KEYS } = generateKeyRingEnv('bench');
  const codec = new AesGcmCodec({ current: 'bench', keys: parsePayloadKeys(PAYLOAD_KEYS) });
  const payload = defaultPayloadConverter.toPayload(orderFailingAt(null, 'micro').input);
  const [encrypted] = await codec.encode([payload]);
  const { key } = generateApiKey();
  const auth = apiKeyAuthenticator({
    configured: [{ name: 'bench', roles: ['writer'], hash: hashApiKey(key) }],
  });
  if (!(await auth.authenticate(key))) throw new Error('the key does not authenticate');
  const noop = await perOp(() => Promise.resolve());
  const enc = await perOp(() => codec.encode([payload]));
  const dec = await perOp(() => codec.decode([encrypted!]));
  const chk = await perOp(() => auth.authenticate(key));
  console.log(
    `payload of ${payload.data?.length ?? 0} bytes (a saga's input); µs per operation, median of ${BATCHES} batches of ${BATCH}:`,
  );
  console.log(`  AES-256-GCM encode ${(enc - noop).toFixed(1)} µs, decode ${(dec - noop).toFixed(1)} µs`);
  console.log(`  API key check (SHA-256 + constant-time compare) ${(chk - noop).toFixed(1)} µs`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

import { randomBytes } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';
import { loadConfig, type PayloadKeyRing } from '../common/config';
import { AesGcmCodec } from './aes-gcm-codec';

/** The failure converter module (encodes failure messages and stack traces); bundles need it too. */
export const failureConverterPath = require.resolve('../common/failure-converter');

/**
 * The data converter of every client, worker and replayer the project runs: payloads encrypted with the ring
 * (docs/security.md), failure messages and stack traces encoded so they are encrypted too. Without a ring
 * (PAYLOAD_ENCRYPTION=off) payloads are stored as they are.
 */
export function sagaDataConverter(ring: PayloadKeyRing | undefined): DataConverter {
  return { payloadCodecs: ring ? [new AesGcmCodec(ring)] : [], failureConverterPath };
}

/** A fresh one-key ring as the environment gives it: what `npm test` and the scripts make for a run. */
export function generateKeyRingEnv(keyId: string): { PAYLOAD_KEYS: string; PAYLOAD_KEY_CURRENT: string } {
  return { PAYLOAD_KEYS: `${keyId}:${randomBytes(32).toString('base64')}`, PAYLOAD_KEY_CURRENT: keyId };
}

/**
 * The data converter for the key ring the environment gives (PAYLOAD_KEYS, PAYLOAD_KEY_CURRENT,
 * PAYLOAD_ENCRYPTION), validated as at start: the tests' and scripts' clients and workers use it.
 */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return sagaDataConverter(loadConfig(env).payloadKeyRing);
}

/** The payload variables of `env`, to pass on to a process started with an environment of its own. */
export function payloadKeyEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const names = ['PAYLOAD_KEYS', 'PAYLOAD_KEY_CURRENT', 'PAYLOAD_ENCRYPTION'];
  return Object.fromEntries(names.filter((n) => env[n] !== undefined).map((n) => [n, env[n]]));
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { PayloadKeyRing } from '../common/config';

/** The `encoding` of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key holding the id of the key a payload was encrypted with (in plain text: ids are not secret). */
export const KEY_ID_METADATA_KEY = 'encryption-key-id';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A payload the codec cannot decrypt: its key id is not in the ring, or it was tampered with. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/**
 * AES-256-GCM payload codec. Each payload is serialized whole (metadata and data), encrypted under the ring's
 * current key with a fresh random 96-bit nonce, and stored as `nonce || ciphertext || tag` with metadata
 * `encoding: binary/encrypted` and `encryption-key-id: <id>`; the key id is also the GCM additional data, so a
 * payload cannot be relabelled with another key id. Decoding uses the payload's own key id, so payloads written
 * under an older key still decode after a rotation; payloads that are not encrypted (histories from before
 * encryption) pass through unchanged. The key ring is a private field: whatever prints or logs the codec (the SDK
 * logs a worker's options at debug, its data converter's codecs included) sees no key.
 */
export class AesGcmCodec implements PayloadCodec {
  readonly #ring: PayloadKeyRing;

  constructor(ring: PayloadKeyRing) {
    this.#ring = ring;
  }

  // async: a payload that cannot be decrypted rejects the promise (the SDK's contract), never throws synchronously
  // eslint-disable-next-line @typescript-eslint/require-await
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  private encrypt(payload: Payload): Payload {
    const keyId = this.#ring.current;
    const key = this.#ring.keys.get(keyId)!;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(encoder.encode(keyId));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA_KEY]: encoder.encode(keyId),
      },
      data: new Uint8Array(data),
    };
  }

  private decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const rawKeyId = payload.metadata?.[KEY_ID_METADATA_KEY];
    if (!rawKeyId) throw new PayloadDecryptionError(`encrypted payload without '${KEY_ID_METADATA_KEY}' metadata`);
    const keyId = decoder.decode(rawKeyId);
    const key = this.#ring.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `payload encrypted with key id '${keyId}', which is not in PAYLOAD_KEYS (add it back to decrypt)`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < NONCE_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(`encrypted payload (key id '${keyId}') is too short`);
    }
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
    decipher.setAAD(encoder.encode(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`encrypted payload (key id '${keyId}') failed authentication`);
    }
    const decoded = temporal.api.common.v1.Payload.decode(plain);
    return { metadata: decoded.metadata, data: decoded.data };
  }
}

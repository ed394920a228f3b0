import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { loadConfig, type PayloadKeyRing } from '../common/config';

/**
 * A secret as stored: AES-256-GCM under a key of the payload key ring (`keyId`; `data` = nonce || ciphertext ||
 * tag, base64), bound to what it is the secret of (the additional data: `purpose` and the key id), so that a sealed
 * secret copied onto another record does not open. `plain` only with PAYLOAD_ENCRYPTION=off.
 */
export type SealedSecret = { keyId: string; data: string } | { plain: string };

/** Seals and opens secrets that must be used again (a webhook's signing key), not only compared (an API key's hash). */
export interface SecretBox {
  seal(secret: string, purpose: string): SealedSecret;
  /** @throws Error naming the key id when it is not in the ring, or when the sealed secret was tampered with. */
  open(sealed: SealedSecret, purpose: string): string;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The secret box of a payload key ring (docs/security.md, "Webhook secrets"): the ring's current key seals, the
 * sealed secret's own key id opens, so that secrets sealed before a rotation still open while their key stays in
 * PAYLOAD_KEYS. Without a ring (PAYLOAD_ENCRYPTION=off) secrets are stored as they are.
 */
export function secretBox(ring: PayloadKeyRing | undefined): SecretBox {
  const aad = (purpose: string, keyId: string) => Buffer.from(`${purpose}\0${keyId}`, 'utf8');
  return {
    seal(secret, purpose) {
      if (!ring) return { plain: secret };
      const keyId = ring.current;
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', ring.keys.get(keyId)!, nonce);
      cipher.setAAD(aad(purpose, keyId));
      const data = Buffer.concat([nonce, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return { keyId, data: data.toString('base64') };
    },
    open(sealed, purpose) {
      if ('plain' in sealed) return sealed.plain;
      const key = ring?.keys.get(sealed.keyId);
      if (!key) throw new Error(`secret sealed with key id '${sealed.keyId}', which is not in PAYLOAD_KEYS`);
      const data = Buffer.from(sealed.data, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
      decipher.setAAD(aad(purpose, sealed.keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      try {
        const plain = decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES));
        return Buffer.concat([plain, decipher.final()]).toString('utf8');
      } catch {
        throw new Error(`secret sealed with key id '${sealed.keyId}' failed authentication`);
      }
    },
  };
}

/** The secret box of the key ring the environment gives (PAYLOAD_KEYS…), validated as at start: for tests and scripts. */
export function secretBoxFromEnv(env: NodeJS.ProcessEnv = process.env): SecretBox {
  return secretBox(loadConfig(env).payloadKeyRing);
}

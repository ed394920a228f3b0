/**
 * The payload codec on its own: AES-256-GCM with a fresh nonce per payload, the key id in the metadata, rotation
 * through the key ring, plain payloads passed through, and errors that name the key id.
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  AesGcmCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA_KEY,
  PayloadDecryptionError,
} from '../../codec/aes-gcm-codec';
import { loadConfig, type PayloadKeyRing } from '../../common/config';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ring = (current: string, keys: [string, Uint8Array][]): PayloadKeyRing => ({ current, keys: new Map(keys) });
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (payload: Payload | undefined): unknown => defaultPayloadConverter.fromPayload(payload!);

const secret = { payment: { token: 'tok_marker_4242' }, shippingAddress: { city: 'Marker City' } };

describe('AesGcmCodec', () => {
  const codecA = new AesGcmCodec(ring('a', [['a', keyA]]));

  test('an encoded payload is binary/encrypted, names its key id, and holds none of the value in clear', async () => {
    const [encoded] = await codecA.encode([payloadOf(secret)]);
    expect(text(encoded!.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encoded!.metadata?.[KEY_ID_METADATA_KEY])).toBe('a');
    expect(Object.keys(encoded!.metadata ?? {}).sort()).toEqual(['encoding', KEY_ID_METADATA_KEY].sort());
    expect(Buffer.from(encoded!.data!).toString('latin1')).not.toMatch(/tok_marker|Marker City|json/);
    expect(valueOf((await codecA.decode([encoded!]))[0])).toEqual(secret);
  });

  test('each payload gets a fresh 96-bit nonce: the same value twice encrypts differently', async () => {
    const [one, two] = await codecA.encode([payloadOf(secret), payloadOf(secret)]);
    expect(Buffer.from(one!.data!).subarray(0, 12)).not.toEqual(Buffer.from(two!.data!).subarray(0, 12));
    expect(one!.data).not.toEqual(two!.data);
  });

  test('payloads that are not encrypted (histories from before encryption) pass through unchanged', async () => {
    const plain = payloadOf(secret);
    expect(await codecA.decode([plain])).toEqual([plain]);
  });

  test('rotation: a payload encrypted under A decrypts once the ring is A,B with current B; new payloads use B', async () => {
    const [underA] = await codecA.encode([payloadOf(secret)]);
    const rotated = new AesGcmCodec(
      ring('b', [
        ['a', keyA],
        ['b', keyB],
      ]),
    );
    expect(valueOf((await rotated.decode([underA!]))[0])).toEqual(secret);
    const [underB] = await rotated.encode([payloadOf(secret)]);
    expect(text(underB!.metadata?.[KEY_ID_METADATA_KEY])).toBe('b');
    // and once A is retired, only what was written under A stops decoding
    const onlyB = new AesGcmCodec(ring('b', [['b', keyB]]));
    expect(valueOf((await onlyB.decode([underB!]))[0])).toEqual(secret);
    await expect(onlyB.decode([underA!])).rejects.toThrow(
      "payload encrypted with key id 'a', which is not in PAYLOAD_KEYS",
    );
  });

  test('an unknown key id fails with a PayloadDecryptionError naming it, never garbage', async () => {
    const [encoded] = await codecA.encode([payloadOf(secret)]);
    const other = new AesGcmCodec(ring('c', [['c', keyB]]));
    await expect(other.decode([encoded!])).rejects.toThrow(PayloadDecryptionError);
    await expect(other.decode([encoded!])).rejects.toThrow(/key id 'a'/);
  });

  test('a tampered payload, or one relabelled with another key id, fails authentication', async () => {
    const [encoded] = await codecA.encode([payloadOf(secret)]);
    const flipped = Buffer.from(encoded!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codecA.decode([{ ...encoded!, data: flipped }])).rejects.toThrow(/key id 'a'.*failed authentication/);
    const both = new AesGcmCodec(
      ring('a', [
        ['a', keyA],
        ['b', keyA],
      ]),
    );
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA_KEY]: Buffer.from('b') } };
    await expect(both.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });
});

describe('the key ring from the environment', () => {
  const k = (key: Buffer) => key.toString('base64');

  test('PAYLOAD_KEYS and PAYLOAD_KEY_CURRENT make the ring; one key needs no PAYLOAD_KEY_CURRENT', () => {
    const two = loadConfig({ PAYLOAD_KEYS: `a:${k(keyA)}, b:${k(keyB)}`, PAYLOAD_KEY_CURRENT: 'b' }).payloadKeyRing!;
    expect(two.current).toBe('b');
    expect([...two.keys.keys()]).toEqual(['a', 'b']);
    expect(Buffer.from(two.keys.get('a')!)).toEqual(keyA);
    expect(loadConfig({ PAYLOAD_KEYS: `a:${k(keyA)}` }).payloadKeyRing!.current).toBe('a');
    expect(loadConfig({ PAYLOAD_ENCRYPTION: 'off' }).payloadKeyRing).toBeUndefined();
  });

  test.each([
    [{}, /PAYLOAD_KEYS: required .*PAYLOAD_ENCRYPTION=off/],
    [{ PAYLOAD_KEYS: 'a:c2hvcnQ=' }, /PAYLOAD_KEYS: key 'a' must be 32 bytes/],
    [{ PAYLOAD_KEYS: `no-colon${k(keyA)}` }, /PAYLOAD_KEYS: each entry must be id:base64key/],
    [{ PAYLOAD_KEYS: `a:${k(keyA)},a:${k(keyB)}` }, /PAYLOAD_KEYS: key id 'a' is listed twice/],
    [{ PAYLOAD_KEYS: `a:${k(keyA)},b:${k(keyB)}` }, /PAYLOAD_KEY_CURRENT: required when PAYLOAD_KEYS holds several/],
    [{ PAYLOAD_KEYS: `a:${k(keyA)}`, PAYLOAD_KEY_CURRENT: 'z' }, /PAYLOAD_KEY_CURRENT: 'z' is not a key id/],
    [{ PAYLOAD_ENCRYPTION: 'maybe' }, /PAYLOAD_ENCRYPTION: must be on or off/],
  ])('%j is refused, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('the error never shows the key', () => {
    const short = randomBytes(16).toString('base64');
    expect.assertions(1);
    try {
      loadConfig({ PAYLOAD_KEYS: `a:${short}` });
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });
});

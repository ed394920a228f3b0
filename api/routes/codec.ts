import type { RequestHandler } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { AppError } from '../errors';
import type { Handlers } from '../operations';
import type { CodecPayloads } from '../schemas-codec';

const fromWire = ({ metadata, data }: CodecPayloads['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(data ?? '', 'base64'),
});

const toWire = ({ metadata, data }: Payload): CodecPayloads['payloads'][number] => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

/**
 * Temporal's codec server protocol (`/codec/encode`, `/codec/decode`), for the Web UI and the CLI: the payloads
 * through the API's own codecs (the payload encryption, docs/security.md). Encoding runs the codecs in order,
 * decoding in reverse, as the SDK does. A payload that cannot be decrypted (its key id is unknown, it was tampered
 * with) answers 400 naming the key id.
 */
export function codecHandlers(codecs: readonly PayloadCodec[]): Pick<Handlers, 'codecEncode' | 'codecDecode'> {
  const run = async (payloads: CodecPayloads['payloads'], direction: 'encode' | 'decode') => {
    let current = payloads.map(fromWire);
    const ordered = direction === 'encode' ? codecs : [...codecs].reverse();
    try {
      for (const codec of ordered) current = await codec[direction](current);
    } catch (err) {
      throw AppError.badRequest(
        `Cannot ${direction} the payloads: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return { payloads: current.map(toWire) };
  };
  return {
    codecEncode: async ({ body }, _req, res) => {
      res.json(await run(body.payloads, 'encode'));
    },
    codecDecode: async ({ body }, _req, res) => {
      res.json(await run(body.payloads, 'decode'));
    },
  };
}

/**
 * CORS for the codec endpoint only, and only for `origins` (the Web UI's, CODEC_CORS_ORIGIN): the browser's
 * preflight (OPTIONS with Access-Control-Request-Method) is answered 204 for those origins; from any other origin,
 * or on any other path, it gets no CORS headers and goes on to the API's own answer (405: the table has no OPTIONS).
 */
export function codecCors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!req.path.startsWith('/codec/') || origin === undefined || !allowed.has(origin)) return next();
    res.vary('Origin');
    res.setHeader('Access-Control-Allow-Origin', origin);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

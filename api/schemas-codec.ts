import { z } from 'zod';

/** Standard base64 (what Temporal's codec server protocol carries: proto3 JSON of `bytes`). */
const Base64 = z
  .string()
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64')
  .meta({ contentEncoding: 'base64' });

/** One payload as the codec server protocol writes it: metadata values and data in base64. */
export const CodecPayload = z
  .object({
    metadata: z.record(z.string().max(256), Base64).optional(),
    data: Base64.optional(),
  })
  .meta({ id: 'CodecPayload' });

/** `{"payloads": [...]}`: the body of `/codec/encode` and `/codec/decode`, and of their answers. */
export const CodecPayloads = z.object({ payloads: z.array(CodecPayload).default([]) }).meta({ id: 'CodecPayloads' });
export type CodecPayloads = z.infer<typeof CodecPayloads>;

/** The namespace the payloads belong to; one key ring serves every namespace. */
export const CodecHeaders = z.object({
  'X-Namespace': z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,255}$/, 'must be a namespace name')
    .optional()
    .meta({ description: 'The namespace of the payloads (sent by the Web UI and the CLI); one key ring serves all' }),
});

/** The sign-in form of the codec endpoint (`POST /codec/session`, application/x-www-form-urlencoded). */
export const CodecSignInForm = z
  .strictObject({
    credential: z
      .string()
      .min(1)
      .max(8192)
      .optional()
      .meta({ description: 'An API key or a JWT with the reader role; or send it as Authorization: Bearer' }),
  })
  .meta({ id: 'CodecSignInForm' });

/** An HTML page (the sign-in form and its answers). */
export const HtmlPage = z.string().meta({ description: 'An HTML page' });

/** The session cookie a sign-in sets. */
export const SessionCookieHeaders = z.object({
  'Set-Cookie': z.string().meta({
    description: 'saga_codec_session=…; Path=/codec; HttpOnly; SameSite=Strict (Secure except on loopback hosts)',
  }),
});

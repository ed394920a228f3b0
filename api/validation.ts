import { z } from 'zod';
import { AppError } from './errors';

/** Ids that reach MongoDB: plain strings of safe characters, so no operator or `$` key can slip in. */
export const Id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, _ or -, starting with a letter or digit');

export const Name = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/** A currency amount in units, at most two decimals, as sent by clients. */
export const Money = z
  .number()
  .finite()
  .min(0, 'must not be negative')
  .max(1_000_000_000, 'must be at most 1000000000')
  .refine((n) => Math.abs(Math.round(n * 100) - n * 100) < 1e-6, 'must have at most two decimals');

export const Count = (max: number) => z.number().int('must be a whole number').min(0, 'must not be negative').max(max);

/** A date that exists, as `YYYY-MM-DD`. */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, 'must be a date that exists');

/**
 * Parses `value` with `schema` or throws a 400 naming every offending field (`body.items.0.quantity`,
 * `header.Idempotency-Key`). `name` prefixes the path of a single value such as a header.
 */
export function parse<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: 'body' | 'params' | 'query' | 'header',
  name?: string,
): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const prefix = [where, ...(name ? [name] : [])];
  const errors = result.error.issues.flatMap((issue) =>
    // One entry per unknown field, so that each path names the field to remove.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          path: [...prefix, ...issue.path.map(String), key].join('.'),
          message: 'is not a known field',
        }))
      : [{ path: [...prefix, ...issue.path.map(String)].join('.'), message: issue.message }],
  );
  const first = errors[0];
  throw AppError.badRequest(first ? `${first.path} ${first.message}` : `Invalid ${where}`, errors);
}

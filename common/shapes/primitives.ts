import { z } from 'zod';

/**
 * The building blocks of every shape, each written so that its JSON Schema (the OpenAPI document) says exactly
 * what it accepts: character classes instead of `\d`/`\s` (whose meaning differs between regex engines), decimals
 * as `multipleOf`, and no refinement the document could not carry.
 */

/** Ids that reach MongoDB: plain strings of safe characters, so no operator or `$` key can slip in. */
export const Id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, _ or -, starting with a letter or digit');

/** A character that `String.prototype.trim` keeps: one that is not ECMAScript white space or a line terminator. */
const NOT_BLANK = /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/**
 * Free text: at most `max` characters as sent, at least one that is not white space; trimmed once valid. (The
 * limits apply to the text as sent, so that the document's `maxLength` and `pattern` say the same.)
 */
export const Text = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(NOT_BLANK, 'must not be empty')
    .trim();

export const Name = Text(200);

/**
 * True when `n`, as JSON writes it (the shortest decimal that reads back as the same number: `0.07`, `1e-7`),
 * has at most `places` decimals. Exact where `n * 10 ** places` is not (`0.07 * 100` is 7.000000000000001).
 */
function hasDecimals(n: number, places: number): boolean {
  const [mantissa = '', exponent = '0'] = String(n).split('e');
  return (mantissa.split('.')[1] ?? '').length - Number(exponent) <= places;
}

/** A decimal number with at most `places` decimals, documented as `multipleOf: 10^-places`. */
const decimal = (places: number, message: string) =>
  z
    .number()
    .refine((n) => hasDecimals(n, places), message)
    .meta({ multipleOf: Number((10 ** -places).toFixed(places)) });

/** A currency amount in units, at most two decimals, as sent by clients. */
export const Money = decimal(2, 'must have at most two decimals')
  .min(0, 'must not be negative')
  .max(1_000_000_000, 'must be at most 1000000000');

/** Kilograms: positive, at most three decimals (grams). */
export const Kg = (max: number) =>
  decimal(3, 'must have at most three decimals').gt(0, 'must be more than 0').max(max, `must be at most ${max}`);

export const Count = (max: number) => z.number().int('must be a whole number').min(0, 'must not be negative').max(max);

/** `YYYY-MM-DD` of a day that exists, as `YYYY-MM-DD` is documented: `format: date`. */
export const IsoDate = z
  .string()
  .regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, 'must be a date that exists')
  .meta({ format: 'date' });

/** An ISO 8601 timestamp as the sagas record them (`new Date().toISOString()`). */
export const Timestamp = z.string();

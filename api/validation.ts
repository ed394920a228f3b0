import { type z } from 'zod';
import { fieldErrors } from '../common/field-errors';
import { AppError } from './errors';

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
  // One entry per unknown field, so that each path names the field to remove.
  const errors = fieldErrors(result.error, [where, ...(name ? [name] : [])]);
  const first = errors[0];
  throw AppError.badRequest(first ? `${first.path} ${first.message}` : `Invalid ${where}`, errors);
}

import type { z } from 'zod';

/** One offending field of a value that failed its schema: `items.0.quantity`, `must be at least 1`. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * The issues of a failed parse as one entry per offending field, its path joined by dots behind `prefix`
 * (`body.items.0.quantity`; an unknown field is its own entry, `is not a known field`). The messages are the
 * schemas' own: they name the rule, never the value sent. What the API answers in a 400 (api/validation.ts) and the
 * order intake writes into a dead-lettered message's `x-rejection-detail` (broker/order-intake.ts).
 */
export function fieldErrors(error: z.ZodError, prefix: readonly string[] = []): FieldError[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          path: [...prefix, ...issue.path.map(String), key].join('.'),
          message: 'is not a known field',
        }))
      : [{ path: [...prefix, ...issue.path.map(String)].join('.'), message: issue.message }],
  );
}

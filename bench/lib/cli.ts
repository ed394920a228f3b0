/** The benchmark scripts' command line: node:util's parseArgs, usage errors (a message and exit 2), the main wrapper. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { stopAll } from '../../scripts/lib/processes';

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Parses the command line (node:util's `parseArgs`: an unknown flag or a flag without its value is a usage error)
 * and hands the result to `build`, before anything starts. A usage error prints its message and exits 2.
 */
export function commandLine<const O extends NonNullable<ParseArgsConfig['options']>, T>(
  options: O,
  build: (args: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>) => T,
): T {
  try {
    return build(parseArgs({ options, allowPositionals: true }));
  } catch (err) {
    const parseError = (err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS') ?? false;
    if (!(err instanceof UsageError) && !parseError) throw err;
    console.error((err as Error).message);
    process.exit(2);
  }
}

/** A whole-number flag's value in [min, max], or `dflt` when absent. */
export function wholeNumber(flag: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new UsageError(`--${flag} takes a whole number from ${min} to ${max}`);
  return n;
}

/**
 * Runs a script's `main`, stops every server it started, and exits: 2 with the message on a usage error, 1 with
 * the error on any other failure. Exits explicitly: open client handles must not keep the run alive.
 */
export function runMain(main: () => Promise<void>): void {
  main()
    .catch((err: unknown) => {
      if (err instanceof UsageError) {
        console.error(err.message);
        process.exitCode = 2;
      } else {
        console.error(err);
        process.exitCode = 1;
      }
    })
    .finally(async () => {
      await stopAll();
      process.exit();
    });
}

/** The benchmark scripts' command line: flags, usage errors (a message and exit 2, no stack trace), the main wrapper. */
import { stopAll } from '../../scripts/lib/processes';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const argv = process.argv.slice(2);

/** The value after `flag`, or undefined when the flag is absent; a flag without a value is a usage error. */
export function flagValue(flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
  return value;
}

/** A whole-number flag in [min, max], or `dflt` when absent. */
export function wholeNumberFlag(flag: string, dflt: number, min: number, max: number): number {
  const raw = flagValue(flag);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}`);
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

/** Parses the command line before anything starts: a usage error prints its message and exits 2. */
export function parseArgs<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
}

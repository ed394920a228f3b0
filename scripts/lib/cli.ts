/** The operator commands' command line (`npm run api-key`, `npm run saga-config`): exit codes and messages. */

/** A command line that cannot be run: the message, the usage, exit 2. */
export class UsageError extends Error {}

/** A line on stderr (stdout is the command's answer). */
export const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * Runs `main` with the arguments and exits with the code it returns. A usage error (ours, or node:util's parseArgs)
 * prints `<name>: <message>` and the usage, exit 2; any other error `<name>: <message>` only (no stack), exit 1.
 */
export function runCli(name: string, usage: string, main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const usageError = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
      err(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      if (usageError) err(usage);
      process.exit(usageError ? 2 : 1);
    },
  );
}

/**
 * `npm run saga -- <command>`: the saga definitions from the command line.
 *
 *   describe <type> --json      the definition as JSON: steps with their kinds, calls, compensations, waits, the
 *                               outcome, and the input's JSON Schema (from its zod schema)
 *   describe <type> --mermaid   the definition as a Mermaid flowchart
 *   docs [--check]              rewrites the diagrams in docs/sagas.md; with --check changes nothing and exits 1
 *                               when they are stale (test/docs/sagas-doc.test.ts)
 *
 * Unknown command, type or flag: the usage on stderr, exit 2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isSagaType, sagaCatalogue, sagaTypes } from '../api/sagas/catalogue';
import { describeDefinition, toMermaid } from '../workflows/definitions/describe';
import { withDiagrams } from './lib/saga-diagrams';

const docFile = path.join(__dirname, '..', 'docs', 'sagas.md');

const usage = `usage: npm run saga -- describe <type> --json | --mermaid
       npm run saga -- docs [--check]
saga types: ${sagaTypes.join(', ')}`;

class UsageError extends Error {}

function describe(args: string[]): string {
  const [type, ...flags] = args;
  if (type === undefined || type.startsWith('-')) throw new UsageError('describe needs a saga type');
  if (!isSagaType(type)) throw new UsageError(`unknown saga type: ${type}`);
  if (flags.length !== 1 || (flags[0] !== '--json' && flags[0] !== '--mermaid')) {
    throw new UsageError(`describe ${type} needs exactly one of --json, --mermaid (got: ${flags.join(' ') || 'none'})`);
  }
  const { definition, input } = sagaCatalogue[type];
  if (flags[0] === '--mermaid') return toMermaid(definition);
  const { $schema: _ignored, ...schema } = z.toJSONSchema(input, { target: 'draft-2020-12', io: 'input' });
  return `${JSON.stringify({ ...describeDefinition(definition), input: schema }, null, 2)}\n`;
}

async function docs(args: string[]): Promise<number> {
  const check = args.length === 1 && args[0] === '--check';
  if (args.length > 0 && !check) throw new UsageError(`docs takes only --check (got: ${args.join(' ')})`);
  const doc = fs.readFileSync(docFile, 'utf8');
  const current = await withDiagrams(doc, docFile);
  if (check) {
    if (current === doc) return 0;
    console.error('docs/sagas.md: the saga diagrams are stale: run npm run saga -- docs');
    return 1;
  }
  fs.writeFileSync(docFile, current);
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === 'describe') {
    process.stdout.write(describe(args));
    return 0;
  }
  if (command === 'docs') return docs(args);
  throw new UsageError(command === undefined ? 'no command' : `unknown command: ${command}`);
}

run(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`saga: ${err.message}\n${usage}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  });

/**
 * `npx tsx scripts/event-catalogue.ts [--check]`: regenerates the event catalogue in docs/events.md from the zod
 * shapes; with `--check`, changes nothing and exits 1 when the doc is not up to date (test/docs/events-doc.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { withCatalogue } from './lib/event-catalogue';

const file = path.join(__dirname, '..', 'docs', 'events.md');

async function run(): Promise<number> {
  const doc = fs.readFileSync(file, 'utf8');
  const current = await withCatalogue(doc, file);
  if (process.argv.includes('--check')) {
    if (current === doc) return 0;
    console.error('docs/events.md is not up to date: run npx tsx scripts/event-catalogue.ts');
    return 1;
  }
  fs.writeFileSync(file, current);
  return 0;
}

run()
  .then((code) => process.exit(code))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

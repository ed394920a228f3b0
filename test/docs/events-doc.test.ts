/** docs/events.md carries the JSON Schema of every event type and version, as the zod shapes generate it. */
import fs from 'node:fs';
import path from 'node:path';
import { withCatalogue } from '../../scripts/lib/event-catalogue';

test('the event catalogue in docs/events.md is up to date (regenerate: npx tsx scripts/event-catalogue.ts)', async () => {
  const file = path.join(__dirname, '..', '..', 'docs', 'events.md');
  const doc = fs.readFileSync(file, 'utf8');
  expect(await withCatalogue(doc, file)).toBe(doc);
});

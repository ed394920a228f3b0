/** `npx tsx scripts/event-catalogue.ts`: regenerates the event catalogue in docs/events.md from the zod shapes. */
import fs from 'node:fs';
import path from 'node:path';
import { withCatalogue } from './lib/event-catalogue';

const file = path.join(__dirname, '..', 'docs', 'events.md');
withCatalogue(fs.readFileSync(file, 'utf8'), file)
  .then((doc) => fs.writeFileSync(file, doc))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

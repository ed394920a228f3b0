/**
 * docs/events.md carries the JSON Schema of every event type and version, as the zod shapes generate it (checked in
 * a process of its own: prettier, which formats the generated part, does not load inside jest's module sandbox).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.join(__dirname, '..', '..');

test('the event catalogue in docs/events.md is up to date (regenerate: npx tsx scripts/event-catalogue.ts)', async () => {
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  await expect(
    promisify(execFile)(tsx, ['scripts/event-catalogue.ts', '--check'], { cwd: root }),
  ).resolves.toBeDefined();
});

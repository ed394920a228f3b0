/**
 * docs/sagas.md embeds every saga definition's Mermaid diagram as `npm run saga -- describe <type> --mermaid` prints
 * it (checked in a process of its own: prettier, which formats the doc, does not load inside jest's module sandbox).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.join(__dirname, '..', '..');

test('the saga diagrams in docs/sagas.md are up to date (regenerate: npm run saga -- docs)', async () => {
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  await expect(promisify(execFile)(tsx, ['scripts/saga.ts', 'docs', '--check'], { cwd: root })).resolves.toBeDefined();
});

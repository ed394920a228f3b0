import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { repoRoot } from '../../scripts/lib/servers';

/**
 * The image (`Dockerfile`, built by `docker-compose.yml` as `durable-sagas:local`) holds every room its processes
 * load. No Docker engine here to build and run it, so the check is on the files: each `bootstrap/*.ts` the compose
 * file runs, then every module it reaches by a relative `import`, `export … from`, `import()` or `require.resolve`;
 * the top-level folders of those modules must each be copied by a `COPY <room> ./<room>` line, as must `patches/`
 * (npm ci's postinstall applies them). The image installs with `npm ci --omit=dev`, so every package those modules
 * import must be a dependency, not a devDependency.
 */

const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), 'utf8');

/** The entry points the compose file runs in our image: `['node', '--import', 'tsx', 'bootstrap/….ts']`. */
function composeEntryPoints(): string[] {
  return [...read('docker-compose.yml').matchAll(/'(bootstrap\/[\w-]+\.ts)'/g)].map((m) => m[1]!);
}

/** A relative specifier resolved as tsx resolves it: the file, `.ts`, or the folder's `index.ts`. */
function resolveModule(fromFile: string, specifier: string): string | undefined {
  const base = path.join(path.dirname(fromFile), specifier);
  return [base, `${base}.ts`, path.join(base, 'index.ts')].find((candidate) => {
    const full = path.join(repoRoot, candidate);
    return fs.existsSync(full) && fs.statSync(full).isFile();
  });
}

const SPECIFIERS = [
  /\bfrom\s+'(\.{1,2}\/[^']+)'/g,
  /\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/g,
  /\brequire(?:\.resolve)?\(\s*'(\.{1,2}\/[^']+)'\s*\)/g,
];

/** A module's package imports: `import … from 'pkg'`, `'@scope/pkg/sub'` → `@scope/pkg`; Node's own modules left out. */
function packagesOf(text: string): string[] {
  return [...text.matchAll(/\b(?:from\s+|import\(\s*|require(?:\.resolve)?\(\s*)'([^.'][^']*)'/g)]
    .map((m) => m[1]!)
    .filter((specifier) => /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]*)?$/.test(specifier)) // a package's name
    .filter((specifier) => !specifier.startsWith('node:') && !builtinModules.includes(specifier.split('/')[0]!))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

/** Every repository file the entry points reach through relative module specifiers. */
function reachedFiles(entryPoints: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...entryPoints];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.ts')) continue;
    const text = read(file);
    for (const pattern of SPECIFIERS) {
      for (const [, specifier] of text.matchAll(pattern)) {
        const target = resolveModule(file, specifier!);
        if (target === undefined) throw new Error(`${file}: cannot resolve ${specifier}`);
        queue.push(target);
      }
    }
  }
  return seen;
}

test('the image copies every room the processes docker-compose.yml runs in it load, and the patches', () => {
  const entryPoints = composeEntryPoints();
  expect(entryPoints).toEqual(expect.arrayContaining(['bootstrap/api-main.ts', 'bootstrap/worker-main.ts']));
  const rooms = new Set([...reachedFiles(entryPoints)].map((file) => file.split(path.sep)[0]!));
  rooms.add('patches');
  const copied = new Set([...read('Dockerfile').matchAll(/^COPY (\S+) \.\/\1$/gm)].map((m) => m[1]!));

  const missing = [...rooms].filter((room) => !copied.has(room)).sort();

  expect(missing).toEqual([]);
  expect(rooms.size).toBeGreaterThan(8); // the walk found the rooms, not just the entry points
});

test('every package the entry points import is installed by the image (a dependency, not a devDependency)', () => {
  const { dependencies = {} } = JSON.parse(read('package.json')) as { dependencies?: Record<string, string> };
  const files = [...reachedFiles(composeEntryPoints())].filter((file) => file.endsWith('.ts'));
  const packages = new Set(files.flatMap((file) => packagesOf(read(file))));

  const notInstalled = [...packages].filter((name) => !(name in dependencies)).sort();

  expect(notInstalled).toEqual([]);
  expect([...packages]).toEqual(expect.arrayContaining(['@temporalio/worker', 'express', 'mongodb']));
});

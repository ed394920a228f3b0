/**
 * Where one saga's CPU goes, by process and by operation: `npm run bench:profile [-- --engine ours-one-task]
 * [--sagas 300] [--in-flight 8]` (about a minute). One FerretDB and the engine's Temporal dev server of its own (as
 * `npm run bench`), an in-process engine (`ours-eager` or `ours-one-task`: the worker in this process, so that
 * its JavaScript can be profiled), the all-succeed mix after 20 sagas of warm-up. Prints:
 *
 * - CPU seconds per saga of each process: the Temporal server, FerretDB, this process (client + worker);
 * - this process's CPU by part, from the V8 profiler (node:inspector): the workflow code in its sandbox, the
 *   Temporal SDK, the MongoDB driver, the payload codec and crypto, our activities and store, protobuf, garbage
 *   collection, and "(program)": native code outside JavaScript (the SDK's Rust core, libuv, the codec's OpenSSL);
 *   then the 15 functions with the most self time;
 * - the MongoDB commands per saga, by command and collection (what FerretDB is asked to do).
 *
 * Prints figures; asserts nothing. The numbers are this machine's at its load (printed), compared within the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Session, type Profiler } from 'node:inspector/promises';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { inLanes } from '../scripts/lib/lanes';
import { freePort, startFerretDb } from '../scripts/lib/servers';
import { generateKeyRingEnv } from '../codec/data-converter';
import { commandLine, runMain, UsageError, wholeNumber } from './lib/cli';
import { engines } from './lib/engines';
import { loadAverage, treeCpuSeconds } from './lib/procstat';
import { planOrder, seed } from './lib/workload';

const IN_PROCESS = ['ours-eager', 'ours-one-task'];

const { engineName, sagas, inFlight } = commandLine(
  { engine: { type: 'string' }, sagas: { type: 'string' }, 'in-flight': { type: 'string' } },
  ({ values }) => {
    const engineName = values.engine ?? 'ours-one-task';
    if (!IN_PROCESS.includes(engineName)) {
      throw new UsageError(`--engine takes an engine whose worker runs in this process: ${IN_PROCESS.join(', ')}`);
    }
    return {
      engineName,
      sagas: wholeNumber('sagas', values.sagas, 300, 10, 100_000),
      inFlight: wholeNumber('in-flight', values['in-flight'], 8, 1, 256),
    };
  },
);

/** The part of the process a profiled function belongs to, from its script's URL. */
function partOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'garbage collection';
    if (functionName === '(program)') return '(program): native, outside JavaScript';
    if (functionName === '(root)') return '(root)';
    return 'native, called from JavaScript (I/O, crypto, the SDK bridge)';
  }
  if (/workflow-bundle|\/workflows\//.test(url)) return 'workflow code (sandbox: ours and the SDK)';
  if (url.includes('node_modules/mongodb') || url.includes('node_modules/bson')) return 'MongoDB driver';
  if (url.includes('node_modules/protobufjs') || url.includes('@temporalio/proto')) return 'protobuf';
  if (url.includes('node_modules/@temporalio/')) return 'Temporal SDK (worker, client, common)';
  if (url.includes('/codec/') || url.includes('internal/crypto')) return 'payload codec, crypto';
  if (/\/(activities|store|common)\//.test(url) && !url.includes('node_modules')) return 'our activities and store';
  if (url.includes('node_modules/')) return 'other libraries';
  if (url.startsWith('node:') || !url.includes('/')) return 'Node.js runtime';
  return 'other (ours: bench, workers)';
}

function summarizeProfile(profile: Profiler.Profile): { parts: [string, number][]; top: [string, number][] } {
  const { nodes, samples = [], timeDeltas = [] } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (timeDeltas[i] ?? 0) / 1000));
  const parts = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const { callFrame } = byId.get(id)!;
    if (callFrame.functionName === '(idle)') continue;
    const part = partOf(callFrame.url, callFrame.functionName);
    parts.set(part, (parts.get(part) ?? 0) + ms);
    const where = callFrame.url ? `${path.basename(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
    const name = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { parts: sorted(parts), top: sorted(functions).slice(0, 15) };
}

async function main(): Promise<void> {
  if (!process.env.PAYLOAD_KEYS && process.env.PAYLOAD_ENCRYPTION !== 'off') {
    Object.assign(process.env, generateKeyRingEnv('bench'));
  }
  const dir = path.resolve(__dirname, '..', '.data', 'bench-profile', new Date().toISOString().replace(/[:.]/g, '-'));
  fs.mkdirSync(dir, { recursive: true });
  const ferret = await startFerretDb({
    port: await freePort(),
    dataDir: path.join(dir, 'ferretdb'),
    logFile: path.join(dir, 'ferretdb.log'),
  });
  const mongoDb = 'bench_profile';
  const commands = new Map<string, number>();
  let counting = false;
  const engine = await engines[engineName]!({
    dir,
    mongoUri: ferret.uri,
    mongoDb,
    onMongoClient: (client) =>
      client.on('commandStarted', (e: CommandStartedEvent) => {
        if (!counting) return;
        const target = (e.command as Record<string, unknown>)[e.commandName];
        const key = typeof target === 'string' ? `${e.commandName} ${target}` : e.commandName;
        commands.set(key, (commands.get(key) ?? 0) + 1);
      }),
  });
  const mongo = new MongoClient(ferret.uri);
  const session = new Session();
  try {
    await seed(mongo.db(mongoDb));
    await engine.afterSeed?.();
    const run = async (n: number, tag: string) => {
      let next = 0;
      await inLanes(
        inFlight,
        () => next < n,
        async () => {
          const i = next++;
          const status = await engine.runSaga(planOrder('success', `${tag}${i}`).input);
          if (status !== 'COMPLETED') throw new Error(`saga ${tag}${i}: ${status}`);
        },
      );
    };
    await run(20, 'warm');
    const cpu = () => ({
      temporal: Object.values(engine.processes).reduce((sum, p) => sum + treeCpuSeconds(p.pid), 0),
      ferretdb: treeCpuSeconds(ferret.process.pid),
      self: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    });
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
    const before = cpu();
    counting = true;
    const t = performance.now();
    await run(sagas, 'p');
    const seconds = (performance.now() - t) / 1000;
    counting = false;
    const after = cpu();
    const { profile } = await session.post('Profiler.stop');
    const per = (k: keyof typeof before) => (after[k] - before[k]) / sagas;
    console.log(
      `${engineName}: ${sagas} sagas, ${inFlight} in flight, ${(sagas / seconds).toFixed(1)} sagas/s (load ${loadAverage()})`,
    );
    console.log('\nCPU seconds per saga, by process');
    console.log(`  Temporal server            ${per('temporal').toFixed(3)}`);
    console.log(`  FerretDB                   ${per('ferretdb').toFixed(3)}`);
    console.log(`  this process (worker+client) ${per('self').toFixed(3)}`);
    const { parts, top } = summarizeProfile(profile);
    const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
    console.log('\nThis process, by part (V8 profile, self time; ms per saga, share)');
    for (const [part, ms] of parts) {
      console.log(`  ${part.padEnd(44)} ${(ms / sagas).toFixed(2).padStart(7)}  ${((100 * ms) / total).toFixed(0)}%`);
    }
    console.log('\nThis process, the 15 functions with the most self time (ms per saga)');
    for (const [name, ms] of top) console.log(`  ${(ms / sagas).toFixed(2).padStart(7)}  ${name}`);
    console.log('\nMongoDB commands per saga (what FerretDB is asked), by command and collection');
    for (const [key, n] of [...commands].sort((a, b) => b[1] - a[1])) {
      console.log(`  ${(n / sagas).toFixed(2).padStart(6)}  ${key}`);
    }
  } finally {
    session.disconnect();
    await engine.stop();
    await mongo.close();
    await ferret.stop();
  }
}

runMain(main);

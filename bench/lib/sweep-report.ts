/** The sweep's report (bench/sweep.ts): a Markdown table of medians over rounds per variant and load. */
import { median } from './stats';

export const LOADS = [1, 8, 32, 128] as const;

export interface Variant {
  label: string;
  engine: string;
  env: Record<string, string>;
  note: string;
  /** Traced: the sweep runs a Jaeger and gives the variant's processes OTEL_EXPORTER_OTLP_ENDPOINT pointing at it. */
  jaeger?: boolean;
}

export interface Measure {
  load: number;
  sagas: number;
  perSecond: number;
  p50: number;
  p99: number;
  serverCpuMs: number;
  workerCpuMs: number;
  /** CPU of the API process per saga, for variants that start sagas through it. */
  apiCpuMs?: number;
  errors: number;
}

export interface RoundResult {
  round: number;
  measures: Measure[];
  workerPeakMb: number | null;
  loadAverage: string;
  dataProblems: number;
}

export const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');

export function render(
  sweep: string,
  settings: { rounds: number; seconds: number; unloaded: number; loads?: readonly number[] },
  variants: Variant[],
  results: Record<string, RoundResult[]>,
  meta: Record<string, unknown>,
): string {
  const loads = settings.loads ?? LOADS;
  const inFlight = loads.filter((l) => l > 1);
  const levels = inFlight.length > 1 ? `${inFlight.slice(0, -1).join(', ')} and ${inFlight.at(-1)}` : inFlight.join('');
  const L: string[] = [`# Sweep: ${sweep}`, ''];
  L.push(`Run ${String(meta.date)}. Machine: ${JSON.stringify(meta.machine)}.`);
  L.push(
    `${settings.rounds} interleaved rounds; per round and variant: ${settings.unloaded} sagas one at a time, then ${settings.seconds} s closed loop at ${levels} in flight; fail10 mix. Medians over rounds. Load average at start ${String(meta.loadStart)}, at end ${String(meta.loadEnd)}.`,
    '',
  );
  L.push('| variant | settings |', '| --- | --- |');
  for (const v of variants) L.push(`| ${v.label} | ${v.note} |`);
  L.push('');
  const withApi = variants.some((v) =>
    (results[v.label] ?? []).some((r) => r.measures.some((m) => m.apiCpuMs !== undefined)),
  );
  L.push(
    `| variant | in flight | sagas/s | p50 ms | p99 ms | server CPU ms/saga | worker CPU ms/saga |${withApi ? ' API CPU ms/saga |' : ''} errors | data problems |`,
    `| --- | --- | --- | --- | --- | --- | --- |${withApi ? ' --- |' : ''} --- | --- |`,
  );
  for (const v of variants) {
    const rs = results[v.label] ?? [];
    const problems = rs.reduce((a, r) => a + r.dataProblems, 0);
    for (const load of loads) {
      const ms = rs.map((r) => r.measures.find((m) => m.load === load)!).filter(Boolean);
      const med = (f: (m: Measure) => number) => median(ms.map(f));
      L.push(
        `| ${v.label} | ${load === 1 ? 'one at a time' : load} | ${fmt(
          med((m) => m.perSecond),
          1,
        )} | ${fmt(med((m) => m.p50))} | ${fmt(med((m) => m.p99))} | ${fmt(
          med((m) => m.serverCpuMs),
          1,
        )} | ${fmt(
          med((m) => m.workerCpuMs),
          1,
        )} |${
          withApi
            ? ` ${
                ms.some((m) => m.apiCpuMs !== undefined)
                  ? fmt(
                      med((m) => m.apiCpuMs ?? 0),
                      1,
                    )
                  : 'n/a'
              } |`
            : ''
        } ${ms.reduce((a, m) => a + m.errors, 0)} | ${problems} |`,
      );
    }
  }
  const peaks = variants.map((v) => {
    const p = (results[v.label] ?? []).map((r) => r.workerPeakMb).filter((x): x is number => x !== null);
    return `${v.label} ${p.length ? `${fmt(median(p))} MB` : 'n/a (in the client process)'}`;
  });
  L.push('', `Worker peak resident memory (median over rounds): ${peaks.join('; ')}.`, '');
  return L.join('\n');
}

/** CPU time and peak memory of a process and its descendants, from /proc (Linux). */
import fs from 'node:fs';

const CLK_TCK = 100;

interface Stat {
  pid: number;
  ppid: number;
  cpu: number; // utime + stime, seconds
  childCpu: number; // cutime + cstime of reaped children, seconds
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17
    const f = (n: number) => Number(rest[n - 3]);
    return { pid, ppid: f(4), cpu: (f(14) + f(15)) / CLK_TCK, childCpu: (f(16) + f(17)) / CLK_TCK };
  } catch {
    return undefined;
  }
}

function allStats(): Stat[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readStat(Number(d)))
    .filter((s): s is Stat => s !== undefined);
}

function tree(root: number, stats: Stat[]): Stat[] {
  const byParent = new Map<number, Stat[]>();
  for (const s of stats) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const out: Stat[] = [];
  const todo = stats.filter((s) => s.pid === root);
  while (todo.length > 0) {
    const s = todo.pop()!;
    out.push(s);
    todo.push(...(byParent.get(s.pid) ?? []));
  }
  return out;
}

/** CPU seconds used so far by a process tree (live processes plus children they have reaped). */
export function treeCpuSeconds(root: number): number {
  return tree(root, allStats()).reduce((sum, s) => sum + s.cpu + s.childCpu, 0);
}

function hwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Peak resident memory (VmHWM) of the largest process in the tree, and the sum over the tree, in MB. */
export function treePeakMb(root: number): { largest: number; sum: number } {
  const kbs = tree(root, allStats()).map((s) => hwmKb(s.pid));
  return { largest: Math.max(0, ...kbs) / 1024, sum: kbs.reduce((a, b) => a + b, 0) / 1024 };
}

export function loadAverage(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Resident memory now (VmRSS) of one process, in MB. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

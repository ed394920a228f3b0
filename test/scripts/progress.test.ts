import { PassThrough } from 'node:stream';
import { progressLine, startProgress } from '../../scripts/lib/progress';

/** A stream that keeps what is written to it; a terminal if `tty`. */
function sink(tty: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  if (tty) Object.assign(stream, { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true });
  return { stream, text: () => text };
}

test('a plain line says done / total, the rate and the time left', () => {
  expect(progressLine('chaos: sagas settled', 500, 2000, 10_000)).toBe(
    'chaos: sagas settled: 500/2000 (25%), 50.0/s, ~30 s left',
  );
  expect(progressLine('x', 10, 10, 2_000)).toBe('x: 10/10 (100%), 5.0/s');
  expect(progressLine('x', 1, 200, 2_000)).toBe('x: 1/200 (0%), 0.5/s, ~6 min 38 s left');
});

test('not a terminal: a line at most every everyMs, and a last one on stop', () => {
  let clock = 0;
  const out = sink(false);
  const p = startProgress({ label: 'bench: runs', total: 4, stream: out.stream, everyMs: 10_000, now: () => clock });
  clock = 5_000;
  p.update(1); // too soon: nothing
  clock = 10_000;
  p.update(2);
  clock = 12_000;
  p.update(3); // too soon again
  clock = 20_000;
  p.update(4);
  p.stop();
  expect(out.text().split('\n')).toEqual([
    'bench: runs: 2/4 (50%), 0.2/s, ~10 s left',
    'bench: runs: 4/4 (100%), 0.2/s',
    'bench: runs: 4/4 in 20 s',
    '',
  ]);
});

test('a terminal: a bar redrawn in place with done / total', async () => {
  const out = sink(true);
  const p = startProgress({ label: 'chaos: sagas started', total: 20, stream: out.stream });
  for (let i = 1; i <= 20; i++) p.update(i);
  p.stop();
  await new Promise((resolve) => setImmediate(resolve));
  expect(out.text()).toContain('chaos: sagas started [');
  expect(out.text()).toContain('20/20 (100%)');
});

/**
 * Business failures are declared per activity in `ParticipantFailures` (common/failures.ts), and the saga
 * definitions' validation relies on that declaration (a retriable step's activity declares none). The compiler checks
 * every `participantFailure(activity, type, …)` against it; this test checks that no activity raises a business
 * failure any other way, so the declaration is the whole truth.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ParticipantFailures, type ParticipantName } from '../../common/failures';

const activitiesDir = path.join(__dirname, '..', '..', 'activities');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) return sources(file);
    return e.name.endsWith('.ts') ? [file] : [];
  });
}

test('activities raise business failures only through participantFailure, never a bare non-retryable failure', () => {
  const offenders = sources(activitiesDir).filter((file) =>
    /ApplicationFailure\.(nonRetryable|create)|nonRetryable:\s*true/.test(fs.readFileSync(file, 'utf8')),
  );
  expect(offenders.map((f) => path.relative(activitiesDir, f))).toEqual([]);
});

/** Activities whose business failures come in a remote participant's reply, and the activity that participant runs. */
const relayedFrom: Partial<Record<ParticipantName, ParticipantName>> = {
  createShipmentByCommand: 'createShipment',
};

const byName = (a: [string, unknown], b: [string, unknown]) => a[0].localeCompare(b[0]);

test('each participantFailure names the activity it is thrown from, as declared', () => {
  const thrown = new Map<string, Set<string>>();
  for (const file of sources(path.join(activitiesDir, 'participants'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/participantFailure\(\s*'(\w+)',\s*BusinessFailure\.(\w+)/g)) {
      const [, activity, type] = m as unknown as [string, string, string];
      thrown.set(activity, (thrown.get(activity) ?? new Set()).add(type));
    }
  }
  // An activity that reaches a participant over the broker fails with what the participant's own activity throws, sent
  // back in the reply (workers/carrier-replies.ts): it declares exactly that activity's failures.
  for (const [remote, local] of Object.entries(relayedFrom) as [ParticipantName, ParticipantName][]) {
    expect([...ParticipantFailures[remote]]).toEqual([...ParticipantFailures[local]]);
  }
  // Every declared failure is thrown by its activity (no stale declaration), and nothing undeclared (the compiler).
  const declared = Object.entries(ParticipantFailures)
    .filter(([activity, types]) => types.length > 0 && !(activity in relayedFrom))
    .map(([activity, types]): [string, string[]] => [activity, [...types].sort()])
    .sort(byName);
  expect(declared).toEqual(
    [...thrown].map(([activity, types]): [string, string[]] => [activity, [...types].sort()]).sort(byName),
  );
});

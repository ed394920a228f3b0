import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { loadServiceConfig } from '../../bootstrap/config';
import { ConfigError, loadConfig } from '../../common/config';
import {
  injectFaults,
  InjectedFault,
  parseFaultSpec,
  type FaultPlan,
} from '../../workers/interceptors/fault-injection';

describe('SAGA_FAULTS, the fault-injection hook', () => {
  test('is off unless configured', () => {
    expect(loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off' }).faults).toBeUndefined();
    expect(loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off', SAGA_FAULTS: '' }).faults).toBeUndefined();
  });

  test('reads the compact form, a named rule merged over the * rule at use', () => {
    expect(parseFaultSpec('releaseCredit:fail=3, processPayment:lose=1,*:rate=0.05,*:delayMs=200')).toEqual({
      releaseCredit: { fail: 3 },
      processPayment: { lose: 1 },
      '*': { rate: 0.05, delayMs: 200 },
    });
    expect(loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off', SAGA_FAULTS: 'releaseCredit:fatal=always' }).faults).toEqual({
      releaseCredit: { fatal: 'always' },
    });
  });

  test('reads the JSON form', () => {
    expect(parseFaultSpec('{"releaseCredit":{"fail":"always"},"*":{"loseRate":0.1}}')).toEqual({
      releaseCredit: { fail: 'always' },
      '*': { loseRate: 0.1 },
    });
  });

  test.each([
    ['releaseCredit', "'releaseCredit' is not <activity>:<fault>=<value>"],
    ['releaseCredit:fail=many', 'many is not a number'],
    ['releaseCredit:explode=1', 'releaseCredit: unknown fault explode'],
    ['*:rate=1.5', '*.rate: must be from 0 to 1'],
    ['releaseCredit:fail=-1', 'releaseCredit.fail'],
    ['release-credit:fail=1', 'must be an activity name or *'],
    ['{"releaseCredit":', 'is not valid JSON'],
  ])('a bad value %j stops the process with a message naming SAGA_FAULTS and the problem', (spec, problem) => {
    expect(() => loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off', SAGA_FAULTS: spec })).toThrow(ConfigError);
    expect(() => loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off', SAGA_FAULTS: spec })).toThrow(
      /^Invalid configuration: SAGA_FAULTS: /,
    );
    expect(() => loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off', SAGA_FAULTS: spec })).toThrow(problem);
  });

  test('common/config.ts keeps the spec as written: its grammar belongs to the fault-injection interceptor', () => {
    expect(loadConfig({ PAYLOAD_ENCRYPTION: 'off', SAGA_FAULTS: 'releaseCredit:explode=1' }).SAGA_FAULTS).toBe(
      'releaseCredit:explode=1',
    );
  });

  test('an activity name that does not exist is refused when the worker builds its interceptors', () => {
    expect(() => injectFaults({ relaseCredit: { fail: 1 } }, ['releaseCredit'])).toThrow(
      'SAGA_FAULTS: no activity named relaseCredit',
    );
  });
});

describe('an activity run through the fault-injection interceptor', () => {
  const effects: string[] = [];
  const activities = {
    reserveCredit: (key: string) => {
      effects.push(key);
      return Promise.resolve(key);
    },
    releaseCredit: (key: string) => Promise.resolve(key),
  };
  const onAttempt = (plan: FaultPlan, name: keyof typeof activities, attempt: number, random = () => 0.5) => {
    const interceptors = [injectFaults(plan, Object.keys(activities), random)];
    const env = new MockActivityEnvironment({ attempt, activityType: name }, { interceptors });
    return env.run(activities[name], 'k');
  };
  beforeEach(() => effects.splice(0));

  test('fail=N: attempts 1..N throw a retryable InjectedFault before the real code, attempt N+1 runs it', async () => {
    const plan = { reserveCredit: { fail: 2 } };
    await expect(onAttempt(plan, 'reserveCredit', 1)).rejects.toThrow(InjectedFault);
    await expect(onAttempt(plan, 'reserveCredit', 2)).rejects.toThrow('injected failure on attempt 2');
    expect(effects).toEqual([]);
    await expect(onAttempt(plan, 'reserveCredit', 3)).resolves.toBe('k');
    expect(effects).toEqual(['k']);
    // other activities are untouched
    await expect(onAttempt(plan, 'releaseCredit', 1)).resolves.toBe('k');
  });

  test('lose=N: the effect lands, then the result is lost', async () => {
    await expect(onAttempt({ reserveCredit: { lose: 1 } }, 'reserveCredit', 1)).rejects.toThrow(InjectedFault);
    expect(effects).toEqual(['k']);
  });

  test('hold=N: the effect lands, the attempt holds its result until it is cancelled, then the result is lost', async () => {
    const env = new MockActivityEnvironment(
      { attempt: 1, activityType: 'reserveCredit' },
      { interceptors: [injectFaults({ reserveCredit: { hold: 1 } }, Object.keys(activities))] },
    );
    const attempt = env.run(activities.reserveCredit, 'k');
    let settled = false;
    void attempt.catch(() => undefined).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(effects).toEqual(['k']);
    expect(settled).toBe(false);
    env.cancel();
    await expect(attempt).rejects.toThrow('held after its effect');
    // attempt 2 is not held
    await expect(onAttempt({ reserveCredit: { hold: 1 } }, 'reserveCredit', 2)).resolves.toBe('k');
  });

  test('fatal: a non-retryable InjectedFault on every attempt', async () => {
    const failure = await onAttempt({ '*': { fatal: 'always' } }, 'releaseCredit', 7).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'InjectedFault', nonRetryable: true });
  });

  test('rate and loseRate draw per attempt', async () => {
    const plan = { '*': { rate: 0.3, loseRate: 0.6 } };
    await expect(onAttempt(plan, 'reserveCredit', 1, () => 0.2)).rejects.toThrow('rate=0.3');
    expect(effects).toEqual([]);
    await expect(onAttempt(plan, 'reserveCredit', 1, () => 0.5)).rejects.toThrow('loseRate=0.6');
    expect(effects).toEqual(['k']);
    await expect(onAttempt(plan, 'reserveCredit', 1, () => 0.7)).resolves.toBe('k');
  });

  test('delayMs waits before the real code', async () => {
    const started = Date.now();
    await onAttempt({ reserveCredit: { delayMs: 150 } }, 'reserveCredit', 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

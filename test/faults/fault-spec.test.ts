import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { InjectedFault, parseFaultSpec, withFaults, type FaultPlan } from '../../activities/faults';
import { ConfigError, loadConfig } from '../../common/config';

describe('SAGA_FAULTS, the fault-injection hook', () => {
  test('is off unless configured', () => {
    expect(loadConfig({}).SAGA_FAULTS).toBeUndefined();
    expect(loadConfig({ SAGA_FAULTS: '' }).SAGA_FAULTS).toBeUndefined();
  });

  test('reads the compact form, a named rule merged over the * rule at use', () => {
    expect(parseFaultSpec('releaseCredit:fail=3, processPayment:lose=1,*:rate=0.05,*:delayMs=200')).toEqual({
      releaseCredit: { fail: 3 },
      processPayment: { lose: 1 },
      '*': { rate: 0.05, delayMs: 200 },
    });
    expect(loadConfig({ SAGA_FAULTS: 'releaseCredit:fatal=always' }).SAGA_FAULTS).toEqual({
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
    expect(() => loadConfig({ SAGA_FAULTS: spec })).toThrow(ConfigError);
    expect(() => loadConfig({ SAGA_FAULTS: spec })).toThrow(/SAGA_FAULTS: /);
    expect(() => loadConfig({ SAGA_FAULTS: spec })).toThrow(problem);
  });

  test('an activity name that does not exist is refused when the worker builds its activities', () => {
    expect(() => withFaults({ releaseCredit: () => Promise.resolve('ok') }, { relaseCredit: { fail: 1 } })).toThrow(
      'no activity named relaseCredit',
    );
  });
});

describe('an activity wrapped by a fault plan', () => {
  const effects: string[] = [];
  const activities = {
    reserveCredit: (key: string) => {
      effects.push(key);
      return Promise.resolve(key);
    },
    releaseCredit: (key: string) => Promise.resolve(key),
  };
  const onAttempt = (plan: FaultPlan, name: keyof typeof activities, attempt: number, random = () => 0.5) => {
    const env = new MockActivityEnvironment({ attempt });
    return env.run(withFaults(activities, plan, random)[name], 'k');
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

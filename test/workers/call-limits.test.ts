import { loadServiceConfig } from '../../bootstrap/config';
import { ConfigError } from '../../common/config';
import { callLimitModule, parseCallLimits } from '../../workers/interceptors/call-limits';
import { limitOptions } from '../../workers/interceptors/workflow-call-limits';
import { compensationCall, domainEventsCall, participantCall } from '../../workflows/saga/policies';
import { readFileSync } from 'node:fs';

describe('SAGA_CALL_LIMITS, the call limits test hook', () => {
  test('caps the presets a saga calls with: timeout, intervals, and the attempts of a limited preset', () => {
    const limits = { startToCloseMs: 1500, retryIntervalMs: 100, maximumAttempts: 3 };
    expect(limitOptions(participantCall, limits)).toEqual({
      startToCloseTimeout: 1500,
      retry: { initialInterval: 100, backoffCoefficient: 2, maximumInterval: 100, maximumAttempts: 3 },
    });
    expect(limitOptions(compensationCall, limits).retry?.maximumAttempts).toBe(3);
  });

  test('an unlimited preset stays unlimited, and a value below the cap stays as it is', () => {
    const limited = limitOptions(domainEventsCall, { retryIntervalMs: 500, maximumAttempts: 3 });
    expect((limited.retry as { maximumAttempts?: number } | undefined)?.maximumAttempts).toBeUndefined();
    expect(limited.retry?.initialInterval).toBe(200);
    expect(limited.startToCloseTimeout).toBe('10s');
  });

  test('is parsed and validated at start, a bad value naming SAGA_CALL_LIMITS', () => {
    expect(loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off' }).callLimits).toBeUndefined();
    expect(
      loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off', SAGA_CALL_LIMITS: 'startToCloseMs=1500,maximumAttempts=3' })
        .callLimits,
    ).toEqual({ startToCloseMs: 1500, maximumAttempts: 3 });
    for (const [spec, problem] of [
      ['startToClose=1500', 'unknown limit startToClose'],
      ['maximumAttempts=0', 'maximumAttempts: must be at least 1'],
      ['startToCloseMs', "'startToCloseMs' is not <limit>=<value>"],
    ] as const) {
      const load = () => loadServiceConfig({ PAYLOAD_ENCRYPTION: 'off', SAGA_CALL_LIMITS: spec });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(`Invalid configuration: SAGA_CALL_LIMITS: ${problem}`);
    }
    expect(parseCallLimits(' ')).toBeUndefined();
  });

  test('the generated workflow interceptor module applies exactly the configured limits', () => {
    const file = callLimitModule({ startToCloseMs: 1500 });
    expect(readFileSync(file, 'utf8')).toContain('limitCalls({"startToCloseMs":1500})');
  });
});

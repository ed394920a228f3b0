import { type Config, ConfigError, loadConfig } from '../common/config';
import { FaultSpecError, parseFaultSpec, type FaultPlan } from '../workers/interceptors/fault-injection';
import { CallLimitsError, parseCallLimits, type CallLimits } from '../workers/interceptors/call-limits';

/** The service's configuration with the test hook's fault plan parsed (`faults`, from SAGA_FAULTS). */
export interface ServiceConfig extends Config {
  faults: FaultPlan | undefined;
  /** The test hook's call limits (from SAGA_CALL_LIMITS). */
  callLimits: CallLimits | undefined;
}

/**
 * The configuration every entry point starts from: `loadConfig` (common/config.ts) plus SAGA_FAULTS parsed by the
 * fault-injection interceptor's grammar. A wrong value stops the process with a message naming the variable.
 * @throws ConfigError `Invalid configuration: <VARIABLE>: <problem>`
 */
export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const config = loadConfig(env);
  let faults: FaultPlan | undefined;
  try {
    const spec = config.SAGA_FAULTS;
    faults = spec === undefined ? undefined : parseFaultSpec(spec);
  } catch (err) {
    if (!(err instanceof FaultSpecError)) throw err;
    throw new ConfigError(`Invalid configuration: SAGA_FAULTS: ${err.message}`);
  }
  try {
    const spec = config.SAGA_CALL_LIMITS;
    return { ...config, faults, callLimits: spec === undefined ? undefined : parseCallLimits(spec) };
  } catch (err) {
    if (!(err instanceof CallLimitsError)) throw err;
    throw new ConfigError(`Invalid configuration: SAGA_CALL_LIMITS: ${err.message}`);
  }
}

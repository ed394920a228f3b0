import fs from 'node:fs';
import path from 'node:path';
import { sagaCatalogue } from '../../api/sagas/catalogue';
import type { SagaType } from '../../common/domain-events';
import type { SagaConfig } from '../../common/saga-config';

/** `config/saga-config/<type>-<name>.json`: a stored configuration we ship (put it with `npm run saga-config`). */
export function shippedConfigPath(type: SagaType, name: string): string {
  return path.join(__dirname, '..', '..', 'config', 'saga-config', `${type}-${name}.json`);
}

/** A shipped stored configuration, validated against its saga type's schema (what `PUT /saga-config/{type}` takes). */
export function readShippedConfig(type: SagaType, name: string): SagaConfig {
  const file = shippedConfigPath(type, name);
  const parsed = sagaCatalogue[type].config.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.message}`);
  return parsed.data;
}

import fs from 'node:fs';
import path from 'node:path';
import { allRoles } from '../../common/roles';
import { generateApiKey, hashApiKey } from '../../store/api-keys';

/**
 * `npm start`'s development key with every role, in `file` (`.data/dev-api-key`): made on first start, readable by
 * its owner only (0600), kept for later starts. Answers the API_KEYS entry that makes the API accept it (the hash
 * only) and whether it was made now.
 */
export function devApiKey(file: string): { entry: string; created: boolean } {
  let created = false;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${generateApiKey().key}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  }
  fs.chmodSync(file, 0o600);
  const key = fs.readFileSync(file, 'utf8').trim();
  return { entry: `dev:${allRoles.join('+')}:${hashApiKey(key)}`, created };
}

/**
 * `npm run saga-config -- <command>`: each saga type's stored configuration in MongoDB (MONGODB_URI, MONGODB_DB:
 * those of `npm start` by default; docs/sagas.md, "Stored configuration").
 *
 *   put <type> <file> [--by NAME]   validates the JSON file against the type's schema and stores it as the next
 *                                   version (who: --by, default the OS user); prints the stored version
 *   get <type>                      the latest version, as JSON
 *   history <type>                  every version, newest first, as JSON
 *
 * Exit codes: 0 done, 1 invalid (each offending field named on stderr, nothing stored), nothing stored yet (get),
 * or MongoDB unreachable; 2 usage error (unknown command or type, missing file).
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { err, runCli, UsageError } from './lib/cli';
import { isSagaType, sagaCatalogue, sagaTypes } from '../api/sagas/catalogue';
import { toSagaConfigVersion } from '../api/routes/saga-config';
import { loadMongoConfig } from '../common/config';
import { fieldErrors } from '../common/field-errors';
import type { SagaType } from '../common/domain-events';
import { connectMongo } from '../store/db';
import {
  ensureSagaConfigIndexes,
  latestSagaConfig,
  putSagaConfig,
  sagaConfigCollection,
  sagaConfigHistory,
} from '../store/saga-config';

const usage = `usage: npm run saga-config -- put TYPE FILE [--by NAME]
       npm run saga-config -- get TYPE
       npm run saga-config -- history TYPE
saga types: ${sagaTypes.join(', ')}
`;

/** Refused input or nothing to show: exit 1. */
class Refused extends Error {}

const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

function sagaType(name: string | undefined): SagaType {
  if (name === undefined) throw new UsageError('a saga type is needed');
  if (!isSagaType(name)) throw new UsageError(`unknown saga type: ${name}`);
  return name;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { by: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const [command, typeName, ...rest] = positionals;
  if (command !== 'put' && command !== 'get' && command !== 'history') {
    throw new UsageError(command === undefined ? 'no command' : `unknown command: ${command}`);
  }
  const type = sagaType(typeName);
  if (command === 'put' && rest.length !== 1) throw new UsageError('put takes a saga type and one file');
  if (command !== 'put' && rest.length > 0) throw new UsageError(`unexpected ${rest.join(' ')}`);
  if (command !== 'put' && values.by !== undefined) throw new UsageError('--by goes with put only');

  // Validated before anything connects: a refused file touches nothing.
  let config;
  if (command === 'put') {
    const file = rest[0]!;
    if (!fs.existsSync(file)) throw new UsageError(`no such file: ${file}`);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      throw new Refused(`${file} is not valid JSON; nothing stored`);
    }
    const parsed = sagaCatalogue[type].config.safeParse(json);
    if (!parsed.success) {
      for (const { path, message } of fieldErrors(parsed.error)) err(`${path || '(the file)'}: ${message}`);
      throw new Refused(`${file} is not a valid ${type} configuration; nothing stored`);
    }
    config = parsed.data;
  }

  const mongo = loadMongoConfig();
  const { client, db } = await connectMongo(mongo.MONGODB_URI, mongo.MONGODB_DB);
  try {
    const col = sagaConfigCollection(db);
    if (config) {
      await ensureSagaConfigIndexes(db);
      const by = values.by ?? os.userInfo().username;
      const doc = await putSagaConfig(col, type, config, { by, byKind: 'cli' });
      out(toSagaConfigVersion(doc));
      err(`stored ${type} configuration version ${doc.version}; sagas started from now on run with it`);
      return 0;
    }
    if (command === 'get') {
      const doc = await latestSagaConfig(col, type);
      if (!doc) throw new Refused(`no configuration is stored for ${type} sagas`);
      out(toSagaConfigVersion(doc));
      return 0;
    }
    out({ items: (await sagaConfigHistory(col, type)).map(toSagaConfigVersion) });
    return 0;
  } finally {
    await client.close();
  }
}

runCli('saga-config', usage, main);

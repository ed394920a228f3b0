/**
 * `npm run api-key -- <command>`: the API keys stored in MongoDB (MONGODB_URI, MONGODB_DB: those of `npm start` by
 * default), kept as SHA-256 hashes only (store/api-keys.ts).
 *
 *   create --name N --role R [--role R2…]   stores a new key and prints it, once: it cannot be read back
 *   list                                    id, name, roles, created, revoked; never a key or a hash
 *   revoke <id>                             the key stops working within a second
 *   hash --name N --role R [--role R2…]     a new key and its API_KEYS entry (name:roles:sha256); stores nothing
 *
 * The key goes to stdout alone, everything else to stderr, so `… create --name ci --role reader > key` works.
 * Exit codes: 0 done, 1 failed (no such key, MongoDB unreachable), 2 usage error.
 */
import { parseArgs } from 'node:util';
import { err, runCli, UsageError } from './lib/cli';
import { loadMongoConfig } from '../common/config';
import { Role } from '../common/roles';
import { apiKeys, createApiKey, generateApiKey, hashApiKey, listApiKeys, revokeApiKey } from '../store/api-keys';
import { connectMongo } from '../store/db';

const usage = `usage: npm run api-key -- create --name NAME --role ROLE [--role ROLE…]
       npm run api-key -- list
       npm run api-key -- revoke ID
       npm run api-key -- hash --name NAME --role ROLE [--role ROLE…]
roles: ${Role.options.join(', ')}
`;

function nameAndRoles(values: { name?: string; role?: string[] }): { name: string; roles: Role[] } {
  const name = values.name ?? '';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new UsageError('--name: 1-64 letters, digits, _ . or -');
  const roles = [...new Set(values.role ?? [])];
  if (roles.length === 0) throw new UsageError('at least one --role');
  for (const role of roles) {
    if (!Role.safeParse(role).success) throw new UsageError(`--role ${role}: one of ${Role.options.join(', ')}`);
  }
  return { name, roles: roles as Role[] };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (command === 'hash') {
    const { name, roles } = nameAndRoles(values);
    const { key } = generateApiKey();
    process.stdout.write(`${key}\n`);
    err(`API_KEYS entry (the hash only; keep the key itself secret): ${name}:${roles.join('+')}:${hashApiKey(key)}`);
    return 0;
  }
  if (command !== 'create' && command !== 'list' && command !== 'revoke') throw new UsageError('unknown command');
  if (command === 'revoke' && rest.length !== 1) throw new UsageError('revoke takes one key id');
  if (command !== 'revoke' && rest.length > 0) throw new UsageError(`unexpected ${rest.join(' ')}`);
  const input = command === 'create' ? nameAndRoles(values) : undefined;

  const config = loadMongoConfig();
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  try {
    const keys = apiKeys(db);
    if (input) {
      const { id, key } = await createApiKey(keys, input);
      process.stdout.write(`${key}\n`);
      err(`created key ${id} (${input.name}: ${input.roles.join(', ')}); it is shown this once and stored as a hash`);
      return 0;
    }
    if (command === 'list') {
      for (const k of await listApiKeys(keys)) {
        const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
        process.stdout.write(`${k._id}\t${k.name}\t${k.roles.join('+')}\t${k.createdAt.toISOString()}\t${state}\n`);
      }
      return 0;
    }
    const id = rest[0]!;
    if (!(await revokeApiKey(keys, id))) {
      err(`no active key ${id}`);
      return 1;
    }
    err(`revoked key ${id}; it stops working within a second`);
    return 0;
  } finally {
    await client.close();
  }
}

runCli('api-key', usage, main);

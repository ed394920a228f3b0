import { apiKeyAuthenticator, type Authenticator } from '../../api/auth';
import { allRoles, type Role } from '../../common/roles';
import { generateApiKey, hashApiKey } from '../../store/api-keys';

export interface LocalCredential {
  /** The key itself, for `Authorization: Bearer <key>`. */
  key: string;
  /** `{ authorization: 'Bearer <key>' }` */
  headers: { authorization: string };
  /** Accepts this key (and only it): the `auth` of an API a script or test starts in its own process. */
  authenticator: Authenticator;
  /** The API_KEYS entry that makes an API process accept it: `name:roles:sha256`. */
  envEntry: string;
}

/** A fresh key with `roles` (default: every role) for an API a script or test runs itself; nothing is stored. */
export function localCredential(name: string, roles: readonly Role[] = allRoles): LocalCredential {
  const { key } = generateApiKey();
  const hash = hashApiKey(key);
  return {
    key,
    headers: { authorization: `Bearer ${key}` },
    authenticator: apiKeyAuthenticator({ configured: [{ name, roles, hash }] }),
    envEntry: `${name}:${roles.join('+')}:${hash}`,
  };
}

import { z } from 'zod';

/**
 * Who may do what on the API. `reader`: every read (GET). `writer`: creating participants' data and starting
 * sagas. `operator`: acting on a running saga (cancel, retry-compensation, approve, reject). A credential carries
 * any set of them; each operation of the table (`api/operations.ts`) names the roles that may call it.
 */
export const Role = z.enum(['reader', 'writer', 'operator']);
export type Role = z.infer<typeof Role>;
export const allRoles: readonly Role[] = Role.options;

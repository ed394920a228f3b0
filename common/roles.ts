import { z } from 'zod';

/**
 * Who may do what on the API. `reader`: every read (GET) but the saga configuration's. `writer`: creating
 * participants' data and starting sagas. `operator`: acting on a running saga (cancel, retry-compensation, approve,
 * reject), webhook subscriptions, and each saga type's stored configuration (read and put). `metrics`: only
 * `GET /metrics`, the credential a Prometheus scrapes with (it reads counts, never an order). A credential carries
 * any set of them; each operation of the table (`api/operations.ts`) names the roles that may call it.
 */
export const Role = z.enum(['reader', 'writer', 'operator', 'metrics']);
export type Role = z.infer<typeof Role>;
export const allRoles: readonly Role[] = Role.options;

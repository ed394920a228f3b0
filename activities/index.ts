import type { Db } from 'mongodb';
import { reportingAttempts } from './attempts';
import { collections } from './db';
import { createCreditActivities } from './participants/customers';
import { createPaymentActivities } from './participants/payments';
import { createInventoryActivities } from './participants/products';
import { createShipmentActivities } from './participants/shipments';
import { createVehicleActivities } from './participants/vehicles';

export interface ActivityDependencies {
  db: Db;
  servedCountries: readonly string[];
}

/** The participants' operations, as plain functions over their dependencies. */
export function createParticipants({ db, servedCountries }: ActivityDependencies) {
  const cols = collections(db);
  return {
    ...createInventoryActivities(cols),
    ...createCreditActivities(cols),
    ...createPaymentActivities(cols),
    ...createShipmentActivities(cols, { servedCountries }),
    ...createVehicleActivities(cols),
  };
}

/**
 * The activities the worker registers: every participant operation, reporting its attempt number
 * in its result and its failures. Each is idempotent by the `key` it is given (`workflowId:step`).
 */
export function createActivities(deps: ActivityDependencies) {
  return reportingAttempts(createParticipants(deps));
}

export type Activities = ReturnType<typeof createActivities>;

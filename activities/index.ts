import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { reportingAttempts } from './attempts';
import { collections } from '../store/db';
import { withFaults, type FaultPlan } from './faults';
import { createCreditActivities } from './participants/customers';
import { createLoyaltyActivities } from './participants/loyalty';
import { createParcelActivities } from './participants/parcels';
import { createPaymentActivities } from './participants/payments';
import { createInventoryActivities } from './participants/products';
import { createShipmentActivities } from './participants/shipments';
import { transportCollections } from '../store/transport-collections';
import { createTransportOrderActivities } from './participants/transport-orders';
import { createTransportVehicleActivities } from './participants/transport-vehicles';
import { createVehicleActivities } from './participants/vehicles';

export interface ActivityDependencies {
  db: Db;
  servedCountries: readonly string[];
  /** For activities that signal other sagas (the loyalty saga); without it they fail and retry. */
  temporal?: Client;
  /** Test hook (docs/faults.md): faults to inject into the activities. Absent in production. */
  faults?: FaultPlan;
}

/** The participants' operations, as plain functions over their dependencies. */
export function createParticipants({ db, servedCountries, temporal }: ActivityDependencies) {
  const cols = collections(db);
  const transport = transportCollections(db);
  return {
    ...createInventoryActivities(cols),
    ...createCreditActivities(cols),
    ...createPaymentActivities(cols),
    ...createShipmentActivities(cols, { servedCountries }),
    ...createVehicleActivities(cols),
    ...createParcelActivities(transport),
    ...createTransportOrderActivities(transport),
    ...createTransportVehicleActivities(transport),
    ...createLoyaltyActivities(transport, { temporal }),
  };
}

/**
 * The activities the worker registers: every participant operation, reporting its attempt number
 * in its result and its failures. Each is idempotent by the `key` it is given (`workflowId:step`).
 * With a fault plan (a test hook) the configured faults are injected inside that reporting.
 */
export function createActivities(deps: ActivityDependencies) {
  return reportingAttempts(withFaults(createParticipants(deps), deps.faults));
}

export type Activities = ReturnType<typeof createActivities>;

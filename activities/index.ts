import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Attempted } from '../common/attempted';
import type { ParticipantFailures } from '../common/failures';
import { collections } from '../store/db';
import { createDomainEventActivities } from './domain-events';
import { createSagaConfigActivities } from './saga-config';
import { createCreditActivities } from './participants/customers';
import { createLoyaltyActivities } from './participants/loyalty';
import { createParcelActivities } from './participants/parcels';
import { createPaymentActivities } from './participants/payments';
import { createInventoryActivities } from './participants/products';
import { createShipmentActivities } from './participants/shipments';
import { createCarrierCommandActivities } from './participants/carrier-by-command';
import type { CarrierLink } from '../common/carrier';
import { transportCollections } from '../store/transport-collections';
import { createTransportOrderActivities } from './participants/transport-orders';
import { createTransportVehicleActivities } from './participants/transport-vehicles';
import { createVehicleActivities } from './participants/vehicles';

export interface ActivityDependencies {
  db: Db;
  servedCountries: readonly string[];
  /** For activities that signal other workflows (the loyalty entity workflow); without it they fail and retry. */
  temporal?: Client;
  /** The broker carrier (CARRIER=broker): where the shipment commands go. Without it sagas use the in-process one. */
  carrier?: CarrierLink | undefined;
}

/**
 * The participants' operations, as plain functions over their dependencies: the activities the worker registers.
 * Each is idempotent by the `key` it is given (`workflowId:step`).
 */
export function createActivities({ db, servedCountries, temporal, carrier }: ActivityDependencies) {
  const cols = collections(db);
  const transport = transportCollections(db);
  return {
    ...createInventoryActivities(cols),
    ...createCreditActivities(cols),
    ...createPaymentActivities(cols),
    ...createShipmentActivities(cols, { servedCountries }),
    ...createCarrierCommandActivities({ carrier }),
    ...createVehicleActivities(cols),
    ...createParcelActivities(transport),
    ...createTransportOrderActivities(transport),
    ...createTransportVehicleActivities(transport),
    ...createLoyaltyActivities(transport, { temporal }),
    ...createDomainEventActivities(db),
    ...createSagaConfigActivities(db),
  };
}

export type Participants = ReturnType<typeof createActivities>;

/** True when `A` and `B` have the same keys. */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
/**
 * Build-time check: every registered activity declares its business failures in `ParticipantFailures`
 * (common/failures.ts), and every entry there is a registered activity.
 */
const _everyActivityDeclaresItsFailures: SameKeys<Participants, typeof ParticipantFailures> = true;

/**
 * The activities as the workflows see them: every result carries the attempt that produced it, and every failure
 * its attempt as the first detail. The worker's attempt-reporting interceptor does that
 * (workers/interceptors/attempt-reporting.ts), which `createSagaWorker` always installs.
 */
export type Activities = {
  [K in keyof Participants]: (
    ...args: Parameters<Participants[K]>
  ) => Promise<Attempted<Awaited<ReturnType<Participants[K]>>>>;
};

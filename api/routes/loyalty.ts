import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { collections } from '../../store/db';
import { getLoyaltyQuery, loyaltyWorkflowId, type LoyaltyState } from '../../common/loyalty';
import { AppError } from '../errors';
import type { Handlers } from '../operations';
import { withDeadline } from '../sagas/client';

export interface LoyaltyRoutesDeps {
  temporal: Client;
  db: Db;
  /** Longest one Temporal call may take before the request answers 503. */
  temporalCallMs: number;
}

/** A customer's loyalty: completed orders counted and discounts granted, read from the customer's loyalty entity workflow. */
export function loyaltyHandlers({
  temporal,
  db,
  temporalCallMs,
}: LoyaltyRoutesDeps): Pick<Handlers, 'getCustomerLoyalty'> {
  const { customers } = collections(db);

  const getCustomerLoyalty: Handlers['getCustomerLoyalty'] = async (input, req, res) => {
    const { id } = input.params;
    if (!(await customers.findOne({ _id: id }, { projection: { _id: 1 } }))) {
      throw AppError.notFound(`Customer ${id} does not exist`);
    }
    try {
      // Without a run id the handle follows continue-as-new to the customer's current run.
      const handle = temporal.workflow.getHandle(loyaltyWorkflowId(id));
      const state: LoyaltyState = await withDeadline(temporal, temporalCallMs, () => handle.query(getLoyaltyQuery));
      res.json(state);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // No completed order yet: the loyalty workflow starts with the first one.
      res.json({ customerId: id, completedOrders: 0, discounts: [] } satisfies LoyaltyState);
    }
  };

  return { getCustomerLoyalty };
}

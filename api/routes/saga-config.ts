import type { Response } from 'express';
import type { Db } from 'mongodb';
import { SagaType } from '../../common/domain-events';
import type { ConfigAuthor, SagaConfig } from '../../common/shapes/saga-config';
import {
  latestSagaConfig,
  putSagaConfig,
  sagaConfigCollection,
  sagaConfigHistory,
  type SagaConfigDoc,
} from '../../store/saga-config';
import { principalOf } from '../auth';
import { AppError } from '../errors';
import type { Handlers } from '../operations';

/** A stored version as the API answers it. */
export function toSagaConfigVersion(doc: SagaConfigDoc) {
  return {
    sagaType: doc.sagaType,
    version: doc.version,
    config: doc.config,
    createdAt: doc.createdAt.toISOString(),
    createdBy: doc.createdBy,
  };
}

/** Who stores a version: the request's principal, or `anonymous` with authentication off. */
const authorOf = (res: Response): ConfigAuthor => {
  const principal = principalOf(res);
  return principal ? { by: principal.name, byKind: principal.kind } : { by: 'anonymous', byKind: 'anonymous' };
};

/** Each saga type's stored configuration: the latest version, a new version, the history (docs/sagas.md). */
export function sagaConfigHandlers({
  db,
}: {
  db: Db;
}): Pick<
  Handlers,
  | 'getOrderSagaConfig'
  | 'putOrderSagaConfig'
  | 'orderSagaConfigHistory'
  | 'getTransportOrderSagaConfig'
  | 'putTransportOrderSagaConfig'
  | 'transportOrderSagaConfigHistory'
  | 'getOrderFulfilmentSagaConfig'
  | 'putOrderFulfilmentSagaConfig'
  | 'orderFulfilmentSagaConfigHistory'
> {
  const col = sagaConfigCollection(db);
  const get = (type: SagaType) => async (_input: unknown, _req: unknown, res: Response) => {
    const doc = await latestSagaConfig(col, type);
    if (!doc) throw AppError.notFound(`No configuration is stored for ${type} sagas: they run with their definition's`);
    res.json(toSagaConfigVersion(doc));
  };
  const put =
    (type: SagaType) =>
    async ({ body }: { body: SagaConfig }, _req: unknown, res: Response) => {
      const doc = await putSagaConfig(col, type, body, authorOf(res));
      res.location(`/saga-config/${type}`).json(toSagaConfigVersion(doc));
    };
  const history = (type: SagaType) => async (_input: unknown, _req: unknown, res: Response) => {
    res.json({ items: (await sagaConfigHistory(col, type)).map(toSagaConfigVersion) });
  };
  return {
    getOrderSagaConfig: get(SagaType.order),
    putOrderSagaConfig: put(SagaType.order),
    orderSagaConfigHistory: history(SagaType.order),
    getTransportOrderSagaConfig: get(SagaType.transportOrder),
    putTransportOrderSagaConfig: put(SagaType.transportOrder),
    transportOrderSagaConfigHistory: history(SagaType.transportOrder),
    getOrderFulfilmentSagaConfig: get(SagaType.orderFulfilment),
    putOrderFulfilmentSagaConfig: put(SagaType.orderFulfilment),
    orderFulfilmentSagaConfigHistory: history(SagaType.orderFulfilment),
  };
}

/**
 * Every saga definition, by saga type: what the validation (`npm test`), the diagrams (`npm run saga -- describe`)
 * and, on the API side, the catalogue (`api/sagas/catalogue.ts`, with each input's zod schema) iterate over.
 */
import type { SagaType } from '../../common/domain-events';
import type { SagaDefinition } from '../saga/definition';
import { orderSagaDefinition } from './order-saga';
import { transportOrderDefinition } from './transport-order';
import { orderFulfilmentDefinition } from './order-fulfilment';

export { orderSagaDefinition, transportOrderDefinition, orderFulfilmentDefinition };

export const sagaDefinitions = {
  order: orderSagaDefinition,
  'transport-order': transportOrderDefinition,
  'order-fulfilment': orderFulfilmentDefinition,
} as const satisfies Record<SagaType, SagaDefinition<never>>;

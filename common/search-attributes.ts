import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes every saga keeps up to date, so that the Web UI, `temporal workflow list --query`
 * and `GET /orders` can filter sagas. They are stored in plain text: never put personal data in them.
 */
export const SagaStatusKey = defineSearchAttributeKey('SagaStatus', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderTotalKey = defineSearchAttributeKey('OrderTotal', SearchAttributeType.DOUBLE);

/** `name=type` pairs as `temporal server start-dev --search-attribute` and `temporal operator` take them. */
export const searchAttributeDefinitions = [
  { name: SagaStatusKey.name, type: 'Keyword' },
  { name: CustomerIdKey.name, type: 'Keyword' },
  { name: OrderTotalKey.name, type: 'Double' },
] as const;

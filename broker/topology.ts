/**
 * What other services bind to (docs/events.md, "Broker"): the topic exchange, the routing key of an event, and the
 * properties of its message.
 */
import type { DomainEvent } from '../common/domain-events';

/** The durable topic exchange every saga's domain events are published to. */
export const SAGA_EVENTS_EXCHANGE = 'saga.events';

/**
 * `<sagaType>.<eventType>`, e.g. `order.SagaStarted`, `transport-order.StepCompleted`: two words, so a consumer
 * binds `order.*` (every event of the order saga), `*.SagaCompleted` (every saga that completed) or `#` (all).
 * The event's version is not in the key: it is in the body and in the `type` property (`SagaStarted.v1`).
 */
export function routingKeyOf(event: Pick<DomainEvent, 'sagaType' | 'type'>): string {
  return `${event.sagaType}.${event.type}`;
}

/** The AMQP properties of an event's message. */
export function messagePropertiesOf(event: DomainEvent) {
  return {
    /** Delivery mode 2: written to disk by a durable queue. */
    persistent: true,
    /** The event id, `<workflowId>#<sequence>`: the same for every delivery of the event, so consumers dedupe by it. */
    messageId: event.eventId,
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    /** `<type>.v<version>`, as the catalogue names the schema. */
    type: `${event.type}.v${event.version}`,
    /** Seconds since the epoch: the event's `occurredAt`. */
    timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
    appId: 'durable-sagas',
    headers: { sagaType: event.sagaType, sagaId: event.sagaId, sequence: event.sequence },
  };
}

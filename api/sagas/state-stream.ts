import type { Request, Response } from 'express';
import type { DomainEvent } from '../../common/domain-events';
import { finalSagaStatuses, type SagaStatus } from '../../common/saga-state';
import { isUnreachable } from '../errors';
import type { FeedListener, FeedSource, FollowHub } from './follow-hub';
import { endsStream } from './follow-hub';

/** Comment line sent on an idle event stream so that proxies keep it open. */
const HEARTBEAT_MS = 15_000;

/** What the stream needs of a state: its status (a saga's state from Temporal, or its view from the read model). */
type WithStatus = { status: SagaStatus };

export interface StateStreamOptions<S extends WithStatus> {
  /** The saga's state as it is now (read before the stream starts, so that an unknown saga is a plain 404). */
  first: S;
  /** The saga's feed in the hub: its workflow id, and how a feed reads it. */
  hub: FollowHub;
  key: string;
  source: () => FeedSource<S>;
  /** Aborted when the API shuts down: the stream ends. */
  shutdown: AbortSignal;
}

/**
 * Server-Sent Events of one saga (docs/api.md, "Event stream"), fed by the saga's feed in the hub (one reader
 * however many clients follow it):
 * - `state`: the saga's state, the current one first, then after each batch of new domain events if it changed;
 * - `domain-event`: each event of the saga's stream once, in order, with the SSE `id` its sequence, so a client
 *   that reconnects with `Last-Event-ID` gets only those after it;
 * - `end` once the stream holds its last event (or the state is COMPLETED or COMPENSATED), then the stream closes.
 * A FAILED saga waits for an operator, so the stream stays open (with heartbeat comments) until it moves on.
 */
export async function streamStates<S extends WithStatus>(
  req: Request,
  res: Response,
  { first, hub, key, source, shutdown }: StateStreamOptions<S>,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();

  const resumeFrom = Number(req.get('last-event-id'));
  let sent = Number.isSafeInteger(resumeFrom) && resumeFrom > 0 ? resumeFrom : 0;
  let lastWrite = Date.now();
  const write = (text: string) => {
    res.write(text);
    lastWrite = Date.now();
  };
  const send = (event: string, data: unknown, id?: number) =>
    write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const sendEvents = (events: readonly DomainEvent[]) => {
    for (const e of events) {
      if (e.sequence !== sent + 1) continue; // one already sent (or, never here, out of order)
      send('domain-event', e, e.sequence);
      sent = e.sequence;
    }
  };
  let lastState = JSON.stringify(first);
  const sendState = (state: S) => {
    const text = JSON.stringify(state);
    if (text === lastState) return;
    lastState = text;
    write(`event: state\ndata: ${text}\n\n`);
  };
  let over = false;
  let hasStream = false;
  write(`retry: 2000\n\n`);
  send('state', first);

  await new Promise<void>((resolve) => {
    const finish = (status?: string) => {
      if (over) return;
      over = true;
      if (status) send('end', { status });
      following.leave();
      req.off('close', closed);
      shutdown.removeEventListener('abort', closed);
      resolve();
    };
    const closed = () => finish();
    const listener: FeedListener<S> = {
      update(events, state) {
        if (over) return;
        hasStream ||= events.length > 0;
        sendEvents(events);
        sendState(state);
        // With a stream, its last event ends it (the state can be final a moment before the last appends are
        // visible); a saga without one (started before domain events) ends with its final state.
        if (endsStream(events) || (!hasStream && finalSagaStatuses.includes(state.status))) finish(state.status);
      },
      tick() {
        if (!over && Date.now() - lastWrite >= HEARTBEAT_MS) write(': keep-alive\n\n');
      },
      fail(err) {
        if (over) return;
        const unreachable = isUnreachable(err);
        // The stream answered 200 long ago: the error goes on a line of its own, the client gets an event.
        if (unreachable) req.log.warn({ err }, 'A dependency cannot be reached: the event stream ends');
        else req.log.error({ err }, 'The event stream could not read the saga: it ends');
        const detail = unreachable
          ? 'A service this API depends on cannot be reached; reconnect later'
          : 'The saga could not be read; reconnect later';
        send('error', { status: 503, detail });
        finish();
      },
      end() {
        finish();
      },
    };
    const following = hub.follow(key, source, listener);
    hasStream = following.backlog.length > 0;
    req.on('close', closed);
    shutdown.addEventListener('abort', closed, { once: true });
    sendEvents(following.backlog);
    if (finalSagaStatuses.includes(first.status) && endsStream(following.backlog)) finish(first.status);
  });
  res.end();
}

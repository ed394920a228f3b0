import type { Request, Response } from 'express';
import { finalSagaStatuses, type SagaState } from '../../common/saga-state';
import { isUnreachable } from '../errors';

/** Comment line sent on an idle event stream so that proxies keep it open. */
const HEARTBEAT_MS = 15_000;

export interface StateStreamOptions<S extends SagaState> {
  /** The saga's state as it is now (read before the stream starts, so that an unknown saga is a plain 404). */
  first: S;
  /** Reads the saga's state again. */
  read: () => Promise<S>;
  /** How often to read it. */
  pollMs: number;
  /** Aborted when the API shuts down: the stream ends. */
  shutdown: AbortSignal;
}

/**
 * Server-Sent Events: `state` events with the saga's state, the current one first, then one per change;
 * the stream ends with an `end` event once the saga is COMPLETED or COMPENSATED. A FAILED saga waits for an
 * operator, so the stream stays open (with heartbeat comments) until it moves on. However long it stays open,
 * it holds one listener on each signal it waits on.
 */
export async function streamStates<S extends SagaState>(
  req: Request,
  res: Response,
  { first, read, pollMs, shutdown }: StateStreamOptions<S>,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();

  let eventId = 0;
  let closed = false;
  const stop = new AbortController();
  const end = () => {
    closed = true;
    stop.abort();
  };
  req.on('close', end);
  shutdown.addEventListener('abort', end, { once: true });
  const send = (event: string, data: unknown) => {
    res.write(`id: ${++eventId}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  /** Waits `ms`, or less if the stream ends; leaves no listener behind either way. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        stop.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      stop.signal.addEventListener('abort', wake, { once: true });
    });

  try {
    res.write(`retry: 2000\n\n`);
    let last = JSON.stringify(first);
    send('state', first);
    let state = first;
    let lastWrite = Date.now();
    while (!closed && !finalSagaStatuses.includes(state.status)) {
      await sleep(pollMs);
      if (closed) break;
      try {
        state = await read();
      } catch (err) {
        if (isUnreachable(err)) {
          // The stream answered 200 long ago: the error goes on a line of its own, the client gets an event.
          req.log.warn({ err }, 'Temporal cannot be reached: the event stream ends');
          send('error', { status: 503, detail: 'Temporal cannot be reached; reconnect later' });
          break;
        }
        throw err;
      }
      const current = JSON.stringify(state);
      if (current !== last) {
        last = current;
        send('state', state);
        lastWrite = Date.now();
      } else if (Date.now() - lastWrite >= HEARTBEAT_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
    }
    if (!closed && finalSagaStatuses.includes(state.status)) send('end', { status: state.status });
  } finally {
    req.off('close', end);
    shutdown.removeEventListener('abort', end);
    res.end();
  }
}

import { InterceptingCall, ListenerBuilder, RequesterBuilder, type Interceptor } from '@grpc/grpc-js';
import {
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
} from '@temporalio/client';

/**
 * A client connection that closes without crashing its process. The SDK's gRPC retry interceptor schedules a
 * failed call's next attempt with `setTimeout`, and `Connection.close()` does not clear those timers: one that
 * fires after the close throws "Channel has been shut down" from inside the timer, an uncaught exception. So
 * `close()` here first stops new retries, waits (up to `drainMs`) for the calls still in flight, a pending retry
 * included, to end, and only then closes the channel. The retry behaviour is otherwise the SDK's default.
 */
export interface DrainingConnection {
  connection: Connection;
  close(drainMs?: number): Promise<void>;
}

export async function connectDraining(options: ConnectionOptions): Promise<DrainingConnection> {
  const retry = defaultGrpcRetryOptions();
  let closing = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const ended = () => {
    inFlight--;
    if (inFlight === 0) drained?.();
  };
  // Outermost: a call counts as ended once the retry interceptor below it has given up or succeeded.
  const counter: Interceptor = (callOptions, nextCall) =>
    new InterceptingCall(
      nextCall(callOptions),
      new RequesterBuilder()
        .withStart((metadata, _listener, next) => {
          inFlight++;
          let done = false;
          next(
            metadata,
            new ListenerBuilder()
              .withOnReceiveStatus((status, nextStatus) => {
                if (!done) {
                  done = true;
                  ended();
                }
                nextStatus(status);
              })
              .build(),
          );
        })
        .build(),
    );
  const retrying = makeGrpcRetryInterceptor({
    delayFunction: retry.delayFunction,
    retryableDecider: (attempt, status) => !closing && retry.retryableDecider(attempt, status),
  });
  const connection = await Connection.connect({ ...options, interceptors: [counter, retrying] });
  return {
    connection,
    async close(drainMs = 10_000) {
      closing = true;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainMs);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      await connection.close();
    },
  };
}

/**
 * `read`, or a rejection with `signal`'s reason as soon as it aborts, whichever comes first.
 * Node's fetch can leave a body read that an abort interrupts pending for ever
 * (nodejs/node#56917, open): a consumer whose stop() aborted its receive while the answer's body
 * was being read never stopped. Every body read of a request that has a signal goes through here.
 */
export function untilAborted<T>(read: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return read;
  // A read left behind must not surface later as an unhandled rejection.
  read.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    read.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

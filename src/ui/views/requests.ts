/**
 * Throttled traffic to the worker shared by the views: target edits while dragging, and keyed
 * requests (flow fields, decision maps) with at most one in flight.
 */
/** Sends `send(value)` at most every `interval` ms (the latest value wins; final ones at once). */
export function throttledSender(
  interval: number,
  send: (value: number) => void,
): { push(value: number, final: boolean): void; dispose(): void } {
  let last = -Infinity;
  let lastSent: number | null = null;
  let pending: number | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    if (pending === null) return;
    const v = pending;
    pending = null;
    if (v === lastSent) return;
    last = Date.now();
    lastSent = v;
    send(v);
  };
  return {
    push(value, final) {
      pending = value;
      if (final) {
        if (timer) clearTimeout(timer);
        flush();
        return;
      }
      const wait = last + interval - Date.now();
      if (wait <= 0) flush();
      else if (!timer) timer = setTimeout(flush, wait);
    },
    dispose() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/**
 * Keyed, throttled requests: `want(key, make)` starts `make()` when `key` differs from the last
 * request, with at most one request in flight and at least `interval` ms between starts; the
 * latest wanted key wins. A request unanswered after `timeout` ms no longer blocks the next.
 */
export function keyedRequests<T>(
  interval: number,
  onResult: (value: T, key: string) => void,
  timeout = 4000,
): { want(key: string, make: () => Promise<T>): void; dispose(): void } {
  let lastKey: string | null = null;
  let wanted: { key: string; make: () => Promise<T> } | null = null;
  let inFlight = 0;
  let issued = 0;
  let lastStart = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;
  const pump = () => {
    if (disposed || !wanted || wanted.key === lastKey || inFlight) return;
    const wait = lastStart + interval - Date.now();
    if (wait > 0) {
      if (!timer)
        timer = setTimeout(() => {
          timer = null;
          pump();
        }, wait);
      return;
    }
    const { key, make } = wanted;
    lastKey = key;
    lastStart = Date.now();
    const token = ++issued;
    inFlight = token;
    const release = () => {
      if (inFlight === token) {
        inFlight = 0;
        pump();
      }
    };
    const guard = setTimeout(release, timeout);
    make().then(
      (v) => {
        clearTimeout(guard);
        if (!disposed) onResult(v, key);
        release();
      },
      () => {
        clearTimeout(guard);
        release();
      },
    );
  };
  return {
    want(key, make) {
      wanted = { key, make };
      pump();
    },
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

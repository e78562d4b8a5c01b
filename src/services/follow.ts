/**
 * Following the audit log: read forward from a cursor (an event id), and read again each
 * time the store says events were appended (its watch capability) or, for a store
 * without one, every `pollMs`. Every reader of the log (`baton log --follow`, the SSE
 * stream of `baton serve`) follows through here.
 */
import type { BatonEvent } from "../core/types.js";
import type { Store, Unwatch } from "../store/store.js";

export interface FollowOptions {
  /** The cursor to start from: only events with a larger id (0: from the first). */
  readonly after: number;
  /** Stop following: the iteration ends (no error) soon after it aborts. */
  readonly signal?: AbortSignal | undefined;
  /** For a store without the watch capability (or with `watch: false`): how often to read again, ms (default 200). */
  readonly pollMs?: number | undefined;
  /** Use the store's watch capability when it has one (default true); false: poll every `pollMs`. */
  readonly watch?: boolean | undefined;
  /**
   * Reads start at least this many ms apart (default 10): under a stream of writes a
   * follower reads a batch every 10 ms instead of once per commit. A wake-up after a quiet
   * spell reads at once.
   */
  readonly minIntervalMs?: number | undefined;
  /** Events read at a time (default 500). */
  readonly pageSize?: number | undefined;
  /**
   * A read failed (the store unreachable, say). Without this the iteration throws; with
   * it, the error is handed here and the read is tried again after `pollMs`.
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

const DEFAULT_POLL_MS = 200;
const DEFAULT_PAGE = 500;
const DEFAULT_MIN_INTERVAL_MS = 10;

/**
 * Yield the events after `options.after` that `read` returns, in id order, in batches
 * (one batch per page read), as they are appended, until `signal` aborts. `read(after,
 * limit)` answers the oldest `limit` matching events with an id above `after` (a filtered
 * `Store.events` with `afterId`). The store is watched before the first read, so no event
 * falls between the backlog and the live part; each event is yielded once, since the
 * cursor only moves forward (at-least-once is the caller's, on reconnection, by resuming
 * from the last id it saw).
 */
export async function* followEvents(
  store: Store,
  read: (after: number, limit: number) => Promise<BatonEvent[]>,
  options: FollowOptions,
): AsyncGenerator<BatonEvent[], void, undefined> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const pageSize = options.pageSize ?? DEFAULT_PAGE;
  const signal = options.signal;
  const stopped = (): boolean => signal?.aborted === true;
  let woken = true; // the backlog is read first
  let resume: (() => void) | undefined;
  const wake = (): void => {
    woken = true;
    resume?.();
    resume = undefined;
  };
  let retry: NodeJS.Timeout | undefined;
  const minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
  let lastRead = -Infinity;
  let cancelPause: (() => void) | undefined;
  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      cancelPause = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const onAbort = (): void => {
    wake();
    cancelPause?.();
  };
  signal?.addEventListener("abort", onAbort);
  let unwatch: Unwatch | undefined;
  let poll: NodeJS.Timeout | undefined;
  try {
    if (stopped()) return;
    if (options.watch !== false && store.capabilities.watch && store.watchEvents !== undefined)
      unwatch = await store.watchEvents(wake);
    else poll = setInterval(wake, pollMs);
    let cursor = options.after;
    while (!stopped()) {
      if (!woken) {
        await new Promise<void>((resolve) => {
          resume = resolve;
        });
        continue;
      }
      const early = lastRead + minIntervalMs - performance.now();
      if (early > 0) {
        await pause(early);
        if (stopped()) return;
      }
      woken = false;
      lastRead = performance.now();
      try {
        for (;;) {
          const events = await read(cursor, pageSize);
          if (stopped()) return;
          if (events.length === 0) break;
          cursor = events[events.length - 1]?.id ?? cursor;
          yield events;
          if (events.length < pageSize) break;
        }
      } catch (error) {
        if (options.onError === undefined || stopped()) throw error;
        options.onError(error);
        clearTimeout(retry);
        retry = setTimeout(wake, pollMs);
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    clearInterval(poll);
    clearTimeout(retry);
    await unwatch?.();
  }
}

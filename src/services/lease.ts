/**
 * Keeping a lease alive while work runs: renew every TTL/3 and report the moment
 * the lease is lost, so the work can stop before it acts without the claim.
 * Used by the library's `withClaim` and the CLI's `baton run`.
 */
import type { ActionResult } from "./claims.js";

/** Anything that can renew a claim: the claim service, or a Baton handle. */
export interface Renewer {
  renew(key: string, options: { as: string; ttl?: number | string }): Promise<ActionResult>;
}

export interface LeaseKeeperOptions {
  readonly key: string;
  readonly agent: string;
  readonly ttlMs: number;
  /** Renewal period; default a third of the TTL. */
  readonly everyMs?: number;
  /** Called once when a renewal says the lease is gone (or the store fails). */
  readonly onLost: (reason: ActionResult | Error) => void;
  /** Called after each successful renewal. */
  readonly onRenewed?: (result: ActionResult) => void;
}

/** A running renewal loop; `stop()` ends it and waits for an in-flight renewal. */
export interface LeaseKeeper {
  stop(): Promise<void>;
  /** True once the lease was reported lost. */
  readonly lost: boolean;
}

/** Start renewing `key` for `agent` until stopped or lost. */
export function keepLease(claims: Renewer, options: LeaseKeeperOptions): LeaseKeeper {
  const everyMs = Math.max(1, Math.floor(options.everyMs ?? options.ttlMs / 3));
  let lost = false;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = (): void => {
    if (stopped || lost) return;
    inFlight = claims
      .renew(options.key, { as: options.agent, ttl: options.ttlMs })
      .then(
        (result) => {
          if (stopped) return;
          if (result.ok) options.onRenewed?.(result);
          else {
            lost = true;
            options.onLost(result);
          }
        },
        (error: unknown) => {
          if (stopped) return;
          lost = true;
          options.onLost(error instanceof Error ? error : new Error(String(error)));
        },
      )
      .finally(() => {
        if (!stopped && !lost) timer = setTimeout(tick, everyMs);
      });
  };
  let timer: NodeJS.Timeout = setTimeout(tick, everyMs);
  return {
    get lost() {
      return lost;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}

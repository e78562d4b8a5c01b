/**
 * Keeping a lease alive while work runs: renew every TTL/3 and report the moment
 * the lease is lost, so the work can stop before it acts without the claim; and
 * ending it when the work is over (`finishLease`): completed, or released.
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

/**
 * How work run under a lease ends when it succeeds:
 * - `complete`: one-off work. Completed, so the key answers "done" for the done window
 *   (24 h) and is not redone; a failure releases it so it can be retried.
 * - `release`: recurring work — a deploy, a cron job, a mutex. Always released, never
 *   completed, success or failure, so the next run is granted at once, while a run that
 *   starts while another holds the key is still refused.
 */
export type LeaseEnd = "complete" | "release";

/** Anything that can end a claim: the claim service, or a Baton handle. */
export interface Finisher {
  complete(key: string, options: { as: string; result?: string; commit?: string }): Promise<ActionResult>;
  release(key: string, options: { as: string; commit?: string }): Promise<ActionResult>;
}

export interface FinishInput {
  readonly key: string;
  readonly agent: string;
  readonly end: LeaseEnd;
  /** The work succeeded (exit 0, or the function resolved). */
  readonly succeeded: boolean;
  /** The lease was reported lost while the work ran. */
  readonly lost: boolean;
  /** Recorded by a completion (not by a release). */
  readonly result?: string | null;
  /** Recorded with a completion, or with a successful release. */
  readonly commit?: string | null;
}

/** How the claim ended: `not_held` when it was no longer ours to end. */
export interface Finished {
  readonly outcome: "completed" | "released" | "not_held";
  readonly result: ActionResult;
}

/** End the claim of finished work: complete it, or release it (see {@link LeaseEnd}). */
export async function finishLease(claims: Finisher, input: FinishInput): Promise<Finished> {
  const commit = input.commit === undefined || input.commit === null ? {} : { commit: input.commit };
  if (input.succeeded && !input.lost && input.end === "complete") {
    const result = await claims.complete(input.key, {
      as: input.agent,
      ...(input.result === undefined || input.result === null ? {} : { result: input.result }),
      ...commit,
    });
    return { outcome: result.ok ? "completed" : "not_held", result };
  }
  const result = await claims.release(input.key, { as: input.agent, ...(input.succeeded && !input.lost ? commit : {}) });
  return { outcome: result.ok ? "released" : "not_held", result };
}

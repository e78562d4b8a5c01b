/**
 * Keeping a lease alive while work runs: renew every TTL/3 and report the moment
 * the lease is lost, so the work can stop before it acts without the claim; and
 * ending it when the work is over (`finishLease`): completed, or released.
 * {@link holdLease} puts the two together: the one loop used by the library's `withClaim`,
 * gates and the CLI's `baton run`.
 */
import { BatonError } from "../core/errors.js";
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

/**
 * How held work ends when it succeeds: `release` for recurring work, else `complete`. A result
 * is recorded only by a completion, so one given with `release` is refused (BAD_INPUT), before
 * anything is claimed or run.
 */
export function leaseEnd(options: { readonly release?: boolean; readonly result?: string | null }): LeaseEnd {
  if (options.release !== true) return "complete";
  if (options.result !== undefined && options.result !== null) {
    throw new BatonError(
      "BAD_INPUT",
      "a result is recorded by a completion, and work that ends in a release never completes: drop the result (a commit is recorded with the release)",
      { fields: ["result", "release"] },
    );
  }
  return "release";
}

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
  const result = await claims.release(input.key, {
    as: input.agent,
    ...(input.succeeded && !input.lost ? commit : {}),
  });
  return { outcome: result.ok ? "released" : "not_held", result };
}

/** What {@link holdLease} needs: renew while the work runs, then complete or release. */
export type LeaseHolder = Renewer & Finisher;

export interface HoldOptions {
  readonly key: string;
  readonly agent: string;
  readonly ttlMs: number;
  /** Renewal period; default a third of the TTL. */
  readonly everyMs?: number;
  /** How the claim ends when the work succeeds with the lease kept (a failure, or a lost lease, releases). */
  readonly end: LeaseEnd;
  /** Recorded by a completion. */
  readonly result?: string | null;
  /** Recorded with a completion, or with a successful release. */
  readonly commit?: string | null;
  /** Called once when the lease is lost (a renewal refused, or the store failing), after the signal is aborted. */
  readonly onLost?: (reason: ActionResult | Error) => void;
}

/** How held work ended. */
export interface Held<T> {
  readonly value: T;
  /** The work's own verdict (a function resolved, a command exited 0). */
  readonly succeeded: boolean;
  /** Why the lease was lost while the work ran, or null when it was kept. */
  readonly lost: ActionResult | Error | null;
  /** How the claim was ended. */
  readonly finished: Finished;
}

/**
 * Hold a claim already granted while `work` runs: renew it (see {@link keepLease}), abort
 * `signal` the moment it is lost, and end it when the work is over — complete or release
 * (`end`) when the work succeeded with the lease kept, release otherwise. A `work` that
 * throws releases the claim and rethrows. The one "hold while this runs" loop, used by
 * the library's `withClaim`, gates and `baton run`. `result` may be a function of the
 * work's value (called once, after it succeeds).
 */
export async function holdLease<T>(
  claims: LeaseHolder,
  options: Omit<HoldOptions, "result"> & {
    readonly result?: string | null | ((value: T) => string | null | undefined);
  },
  work: (signal: AbortSignal) => Promise<{ readonly value: T; readonly succeeded: boolean }>,
): Promise<Held<T>> {
  const controller = new AbortController();
  let lost: ActionResult | Error | null = null;
  const keeper = keepLease(claims, {
    key: options.key,
    agent: options.agent,
    ttlMs: options.ttlMs,
    ...(options.everyMs === undefined ? {} : { everyMs: options.everyMs }),
    onLost: (reason) => {
      lost = reason;
      controller.abort(
        reason instanceof Error ? reason : new BatonError(reason.ok ? "INTERNAL" : reason.code, reason.message),
      );
      options.onLost?.(reason);
    },
  });
  let outcome: { readonly value: T; readonly succeeded: boolean };
  try {
    outcome = await work(controller.signal);
  } catch (error) {
    await keeper.stop();
    await claims.release(options.key, { as: options.agent }).catch(() => undefined);
    throw error;
  }
  await keeper.stop();
  const result =
    typeof options.result === "function" ? (outcome.succeeded ? options.result(outcome.value) : null) : options.result;
  const finished = await finishLease(claims, {
    key: options.key,
    agent: options.agent,
    end: options.end,
    succeeded: outcome.succeeded,
    lost: keeper.lost,
    result: result ?? null,
    commit: options.commit ?? null,
  });
  return { value: outcome.value, succeeded: outcome.succeeded, lost, finished };
}

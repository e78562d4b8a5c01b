/**
 * Side-effect gates: a side effect (an e-mail, a comment, a deploy) happens once per
 * window across the fleet. Built on claims, so it works on every store:
 *
 * - the gate `KEY` is the claim key `gate:KEY`;
 * - its **lock** is a live claim on that key (TTL `--ttl`, renewed while the effect runs);
 * - its **mark** is the claim's completion, whose result records the command, a digest of
 *   its output and a note; a claim inside the window answers "done" — who and when;
 * - optional **marker files** (one small JSON file per mark in a folder that can be
 *   committed; src/workspace/markers.ts, given as {@link GateMarkers}) keep the marks
 *   when the registry is new or lost.
 *
 * A skip (already marked, or a sibling is running it) is logged as a `skipped` event by
 * the gate, never as a denial: the gate looks before it claims, so a correct skip never
 * reaches the claim's denial path, and `supply`/`context` do not count it as contention.
 *
 * At least once (default): mark after the effect succeeded; a crash between the effect
 * and the mark leaves no mark, so the effect may run again once the lock expires.
 * At most once (`onceOnly`): mark before the effect; a crash after marking means the
 * effect never runs again, even if it did not happen.
 */
import { createHash } from "node:crypto";
import { formatDuration } from "../core/duration.js";
import { parseAgent, parseKey } from "../core/identity.js";
import { type DurationInput, durationMs, parseText } from "../core/schemas.js";
import type { BatonEvent, Claim } from "../core/types.js";
import type { Store } from "../store/store.js";
import type { ClaimService } from "./claims.js";
import { holdLease, type LeaseHolder } from "./lease.js";
import { isoSeconds as iso, isoString } from "../core/time.js";

/** Default window: a mark holds for a day. */
export const DEFAULT_GATE_WINDOW_MS = 24 * 3_600_000;
/** Default lock lease while the effect runs (renewed every third). */
export const DEFAULT_GATE_TTL_MS = 2 * 60_000;
const POLL_MS = 100;

/** The claim key of gate `key`. */
export function gateKey(key: string): string {
  const k = parseKey(key);
  return k.startsWith("gate:") ? k : parseKey(`gate:${k}`);
}

/**
 * A gate key from content: `content:` and the SHA-256 of the text with runs of white
 * space collapsed and the ends trimmed, so the same message collapses into one gate
 * whatever each session called it.
 */
export function contentKey(content: string | Buffer): string {
  const text = Buffer.isBuffer(content) ? content.toString("utf8") : content;
  const normal = text.normalize("NFC").replace(/\s+/g, " ").trim();
  return `content:${createHash("sha256").update(normal).digest("hex").slice(0, 32)}`;
}

/** What a mark records. */
export interface GateMark {
  readonly key: string;
  readonly agent: string;
  readonly at: Date;
  readonly command: string | null;
  /** SHA-256 of the effect's output, when there was one. */
  readonly digest: string | null;
  readonly note: string | null;
  readonly onceOnly: boolean;
  /** Where the mark was found. */
  readonly source: "registry" | "marker";
}

/** A mark with the skips logged since it was made (what `gate list` and `gate check` show). */
export interface GateMarkWithSkips extends GateMark {
  /** How many `skipped` events were logged for the key since the mark. */
  readonly skips: number;
  /** The newest of those skips, or null. */
  readonly lastSkip: { readonly agent: string; readonly at: Date } | null;
}

/**
 * Where marks are kept besides the registry (so they survive a new or lost registry):
 * the workspace's folder of marker files (src/workspace/markers.ts), or anything else
 * that can read, write and remove one mark per gate key.
 */
export interface GateMarkers {
  /** The mark of `key`, or null (a damaged one is no mark). */
  read(key: string): GateMark | null;
  write(mark: GateMark): void;
  /** True when a mark was there. */
  remove(key: string): boolean;
}

function markOf(claim: Claim): GateMark | null {
  if (claim.state !== "completed" || claim.endedAt === null) return null;
  let data: Record<string, unknown>;
  try {
    data = claim.result === null ? {} : (JSON.parse(claim.result) as Record<string, unknown>);
  } catch {
    data = { note: claim.result };
  }
  return {
    key: claim.key,
    agent: claim.agent,
    at: claim.endedAt,
    command: typeof data.command === "string" ? data.command : null,
    digest: typeof data.digest === "string" ? data.digest : null,
    note: typeof data.note === "string" ? data.note : null,
    onceOnly: data.onceOnly === true,
    source: "registry",
  };
}

/** ` — skipped N times since (last by A at T)`, or nothing when no skip was logged. */
export function skipText(mark: GateMarkWithSkips): string {
  if (mark.lastSkip === null) return "";
  return ` — skipped ${mark.skips} time${mark.skips === 1 ? "" : "s"} since (last by ${mark.lastSkip.agent} at ${iso(mark.lastSkip.at)})`;
}

/** Options every gate operation shares. */
export interface GateOptions {
  /** How long a mark holds: ms or `24h`. Default 24 h. */
  window?: DurationInput;
  /** Marks kept besides the registry (marker files), honoured even when the registry is new or lost. */
  markers?: GateMarkers | null;
}

export interface GateRunOptions extends GateOptions {
  as: string;
  /** Lock lease while the effect runs (renewed): ms or `2m`. Default 2 minutes. */
  ttl?: DurationInput;
  /** When a sibling holds the lock, wait this long for its outcome. Default 0: skip at once. */
  wait?: DurationInput;
  /** Mark before running (at most once) instead of after success (at least once). */
  onceOnly?: boolean;
  /** Recorded with the mark. */
  note?: string;
  /** Recorded with the mark (the CLI puts the command line here). */
  command?: string | null;
}

/** What the effect reports back. */
export interface EffectOutcome<T> {
  readonly ok: boolean;
  readonly value: T;
  /** SHA-256 of the effect's output, if it had one. */
  readonly digest?: string | null;
}

/** A gate run that did not run its effect: marked inside the window, or a sibling holds it. */
export interface GateSkip {
  readonly outcome: "skipped";
  readonly reason: "marked" | "busy";
  readonly mark: GateMark | null;
  readonly holder: string | null;
  readonly message: string;
}

export type GateRunResult<T> =
  | {
      readonly outcome: "ran";
      readonly ok: boolean;
      readonly value: T;
      readonly mark: GateMark | null;
      readonly message: string;
    }
  | GateSkip;

/** Options of {@link GateService.lock}: one look-and-lock step of a gate run. */
export interface GateLockOptions extends Omit<GateOptions, "markers"> {
  as: string;
  /** The lock's lease (ms or `2m`). Default 2 minutes. */
  ttl?: DurationInput;
  /** Mark at once (at most once): the lock is completed before the effect runs. */
  onceOnly?: boolean;
  /** Recorded with a once-only mark. */
  note?: string;
  /** Recorded with a once-only mark. */
  command?: string | null;
  /** A mark the caller found besides the registry (its marker file): a skip inside the window. */
  marker?: GateMark | null;
  /** A sibling's lock is a skip (logged) rather than `busy`: the caller waits no longer. */
  giveUp?: boolean;
}

/**
 * One look-and-lock step: the lock taken (`mark` set when once-only marked it already), a
 * skip (logged), or a sibling's lock to wait for (`busy`, only without `giveUp`).
 */
export type GateLock =
  | { readonly outcome: "locked"; readonly claim: Claim; readonly mark: GateMark | null }
  | GateSkip
  | { readonly outcome: "busy"; readonly holder: string | null };

/**
 * The registry steps of a gate run: {@link GateService}'s own, or a server's through its API
 * (the CLI's, src/surfaces/cli/remote.ts) while the effect and the marker files stay here.
 */
export interface GateRegistry extends LeaseHolder {
  lock(key: string, options: GateLockOptions): Promise<GateLock>;
  /** The key's claim now (is a sibling's lock still live?). */
  current(key: string): Promise<Claim | null>;
}

/**
 * A gate run over `registry` (see {@link GateService.run}): look and lock until locked, skipped,
 * or `wait` is over; run the effect under the lock (renewed) and mark on success, or, once
 * only, after the mark. Marker files (`options.markers`) are read and written here.
 */
export async function runGate<T>(
  registry: GateRegistry,
  keyInput: string,
  effect: (context: { claim: Claim; signal: AbortSignal }) => Promise<EffectOutcome<T>>,
  options: GateRunOptions,
): Promise<GateRunResult<T>> {
  const key = gateKey(keyInput);
  const ttlMs = options.ttl === undefined ? DEFAULT_GATE_TTL_MS : durationMs(options.ttl, "ttl");
  const waitMs = options.wait === undefined ? 0 : durationMs(options.wait, "wait", true);
  const note = options.note === undefined ? null : parseText(options.note, "note");
  const markers = options.markers ?? null;
  const deadline = Date.now() + waitMs;
  const step: GateLockOptions = {
    // Checked by the registry (through a server the token decides the agent).
    as: options.as,
    ttl: ttlMs,
    ...(options.window === undefined ? {} : { window: options.window }),
    ...(options.onceOnly === true ? { onceOnly: true } : {}),
    ...(note === null ? {} : { note }),
    ...(options.command === undefined ? {} : { command: options.command }),
  };
  let locked: Extract<GateLock, { outcome: "locked" }>;
  for (;;) {
    const r = await registry.lock(key, { ...step, marker: markers?.read(key) ?? null, giveUp: Date.now() >= deadline });
    if (r.outcome === "locked") {
      locked = r;
      break;
    }
    if (r.outcome === "skipped") return r;
    // Watch (read-only) until the sibling's lock is gone or the deadline passes, then look again.
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const now = await registry.current(key);
      if (now === null || now.state !== "active") break;
    }
  }
  const { claim } = locked;
  // The agent the registry granted the lock to (through a server: the token's).
  const agent = claim.agent;
  if (locked.mark !== null) {
    markers?.write(locked.mark);
    const outcome = await effect({ claim, signal: new AbortController().signal });
    return {
      outcome: "ran",
      ok: outcome.ok,
      value: outcome.value,
      mark: locked.mark,
      message: `ran ${key} (marked before running: at most once)`,
    };
  }
  // At least once: the lock is held (renewed) while the effect runs; the mark is its completion.
  let digest: string | null = null;
  const held = await holdLease(
    registry,
    {
      key,
      agent,
      ttlMs,
      end: "complete",
      result: () => JSON.stringify({ command: options.command ?? null, digest, note, onceOnly: false }),
    },
    async (signal) => {
      const outcome = await effect({ claim, signal });
      digest = outcome.digest ?? null;
      return { value: outcome.value, succeeded: outcome.ok };
    },
  );
  if (!held.succeeded || held.lost !== null) {
    return {
      outcome: "ran",
      ok: false,
      value: held.value,
      mark: null,
      message: `ran ${key}: it failed, not marked (a retry can fire)`,
    };
  }
  const done = held.finished.result;
  if (!done.ok) {
    return {
      outcome: "ran",
      ok: false,
      value: held.value,
      mark: null,
      message: `ran ${key} but lost the lock before marking`,
    };
  }
  const mark: GateMark = {
    key,
    agent,
    at: done.claim.endedAt ?? new Date(),
    command: options.command ?? null,
    digest,
    note,
    onceOnly: false,
    source: "registry",
  };
  markers?.write(mark);
  return { outcome: "ran", ok: true, value: held.value, mark, message: `ran ${key}, marked at ${iso(mark.at)}` };
}

/** Gates over the claim service (and the store, for the `skipped` events it logs). */
export class GateService {
  readonly #claims: ClaimService;
  readonly #store: Store;

  constructor(claims: ClaimService, store: Store) {
    this.#claims = claims;
    this.#store = store;
  }

  /** The `skipped` events of gate keys logged since `sinceMs` ago, grouped by key (oldest first). */
  async #skips(sinceMs: number, key?: string): Promise<Map<string, BatonEvent[]>> {
    const events = await this.#store.events({ key, kinds: ["skipped"], sinceMs, limit: 100_000 });
    const byKey = new Map<string, BatonEvent[]>();
    for (const e of events) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    return byKey;
  }

  #withSkips(mark: GateMark, skips: Map<string, BatonEvent[]>): GateMarkWithSkips {
    const since = (skips.get(mark.key) ?? []).filter((e) => e.at.getTime() >= mark.at.getTime());
    const last = since.at(-1);
    return { ...mark, skips: since.length, lastSkip: last === undefined ? null : { agent: last.agent, at: last.at } };
  }

  #windowMs(options: GateOptions): number {
    return options.window === undefined ? DEFAULT_GATE_WINDOW_MS : durationMs(options.window, "window");
  }

  #markers(options: GateOptions): GateMarkers | null {
    return options.markers ?? null;
  }

  /** The mark of `key` inside the window (registry first, then marker files), or null. */
  async check(
    keyInput: string,
    options: GateOptions = {},
  ): Promise<{ readonly done: boolean; readonly mark: GateMarkWithSkips | null; readonly message: string }> {
    const key = gateKey(keyInput);
    const windowMs = this.#windowMs(options);
    const markers = this.#markers(options);
    const now = await this.#claims.now();
    const found = await this.#markWithin(key, windowMs, markers, now);
    if (found === null)
      return {
        done: false,
        mark: null,
        message: `not done: no mark for ${key} in the last ${formatDuration(windowMs)}`,
      };
    const mark = this.#withSkips(found, await this.#skips(now.getTime() - found.at.getTime() + 1, key));
    return {
      done: true,
      mark,
      message: `done by ${mark.agent} at ${iso(mark.at)}${mark.note ? `: ${mark.note}` : ""}${skipText(mark)}`,
    };
  }

  async #markWithin(key: string, windowMs: number, markers: GateMarkers | null, now: Date): Promise<GateMark | null> {
    const { claim } = await this.#claims.show(key, { events: 1 });
    const fromRegistry = claim === null ? null : markOf(claim);
    if (fromRegistry !== null && fromRegistry.at.getTime() > now.getTime() - windowMs) return fromRegistry;
    const fromFile = markers?.read(key) ?? null;
    if (fromFile !== null && fromFile.at.getTime() > now.getTime() - windowMs) return fromFile;
    return null;
  }

  /**
   * One step of a gate run, the part that decides in the registry: look (a mark in the window,
   * given or stored, or a sibling's live lock is a skip, logged as `skipped`), then take the
   * lock (the claim decides atomically). With `onceOnly` the lock is completed at once: the
   * mark made before the effect runs. A sibling's lock with `giveUp` false is `busy` (not
   * logged: the caller waits and asks again); with `giveUp` it is a skip. What a server runs
   * for a gate run whose command runs on its client (the `gate_lock` operation).
   */
  async lock(keyInput: string, options: GateLockOptions): Promise<GateLock> {
    const key = gateKey(keyInput);
    const agent = parseAgent(options.as);
    const windowMs = this.#windowMs(options);
    const ttlMs = options.ttl === undefined ? DEFAULT_GATE_TTL_MS : durationMs(options.ttl, "ttl");
    const note = options.note === undefined ? null : parseText(options.note, "note");
    const skipped = async (
      reason: "marked" | "busy",
      mark: GateMark | null,
      holder: string | null,
    ): Promise<GateLock> => {
      await this.#store.recordEvent({
        kind: "skipped",
        key,
        agent,
        commit: null,
        detail:
          reason === "marked" && mark !== null
            ? { reason, markedBy: mark.agent, markedAt: isoString(mark.at), source: mark.source }
            : { reason, holder },
      });
      return {
        outcome: "skipped",
        reason,
        mark,
        holder,
        message:
          reason === "marked" && mark !== null
            ? `skipped: done by ${mark.agent} at ${iso(mark.at)}`
            : `skipped: ${holder ?? "another agent"} is running it now`,
      };
    };
    const busy = (holder: string | null): Promise<GateLock> | GateLock =>
      options.giveUp === true ? skipped("busy", null, holder) : { outcome: "busy", holder };
    // The caller's marker file's mark (read on its machine): a skip inside the window.
    const given = options.marker === undefined || options.marker === null ? null : { ...options.marker, key };
    const now = await this.#claims.now();
    if (given !== null && given.at.getTime() > now.getTime() - windowMs) return skipped("marked", given, null);
    // Look first (read-only): a mark in the window or a sibling's live lock is a skip that
    // never reaches the claim, so it is logged as `skipped`, not as a denial. The claim below
    // still decides atomically; it only refuses when a sibling got there in between.
    const { claim: seen } = await this.#claims.show(key, { events: 1 });
    const seenMark = seen === null ? null : markOf(seen);
    if (seenMark !== null && seenMark.at.getTime() > now.getTime() - windowMs) return skipped("marked", seenMark, null);
    if (seen !== null && seen.state === "active" && seen.agent !== agent) return busy(seen.agent);
    const attempt = await this.#claims.claim(key, { as: agent, ttl: ttlMs, doneWindow: windowMs });
    if (!attempt.ok) {
      if (attempt.outcome === "done") return skipped("marked", markOf(attempt.claim), null);
      // A sibling took the lock between the look and the claim.
      return busy(attempt.holder);
    }
    if (options.onceOnly !== true) return { outcome: "locked", claim: attempt.claim, mark: null };
    // At most once: the mark is made before the effect runs, and nothing is held while it runs.
    const command = options.command ?? null;
    const done = await this.#claims.complete(key, {
      as: agent,
      result: JSON.stringify({ command, digest: null, note, onceOnly: true }),
    });
    if (!done.ok) return skipped("busy", null, null);
    const mark: GateMark = {
      key,
      agent,
      at: done.claim.endedAt ?? new Date(),
      command,
      digest: null,
      note,
      onceOnly: true,
      source: "registry",
    };
    return { outcome: "locked", claim: attempt.claim, mark };
  }

  /**
   * Run `effect` once per window for the fleet: take the lock, check for a mark, run,
   * mark on success (or before running with `onceOnly`), release. Already marked or
   * locked by a sibling → skipped (with `wait`, a sibling's outcome is awaited first).
   * The effect failing (`ok: false` or a throw) leaves no mark so a retry can fire.
   */
  run<T>(
    keyInput: string,
    effect: (context: { claim: Claim; signal: AbortSignal }) => Promise<EffectOutcome<T>>,
    options: GateRunOptions,
  ): Promise<GateRunResult<T>> {
    return runGate(this.#registry, keyInput, effect, options);
  }

  /** The registry steps of a run on this registry (a server's client has its own: {@link GateRegistry}). */
  readonly #registry: GateRegistry = {
    lock: (key, options) => this.lock(key, options),
    current: async (key) => (await this.#claims.show(key, { events: 1 })).claim,
    renew: (key, options) => this.#claims.renew(key, options),
    complete: (key, options) => this.#claims.complete(key, options),
    release: (key, options) => this.#claims.release(key, options),
  };

  /** Mark `key` done now without running anything (e.g. done by hand). */
  async mark(
    keyInput: string,
    options: GateOptions & { as: string; note?: string },
  ): Promise<{ readonly ok: boolean; readonly mark: GateMark | null; readonly message: string }> {
    const result = await this.run(keyInput, async () => ({ ok: true, value: null, digest: null }), {
      ...options,
      ...(options.note === undefined ? {} : { note: options.note }),
      command: null,
    });
    if (result.outcome === "ran")
      return { ok: result.ok, mark: result.mark, message: result.ok ? `marked ${gateKey(keyInput)}` : result.message };
    return { ok: false, mark: result.mark, message: result.message.replace(/^skipped: /, "already marked: ") };
  }

  /** Marks of the last `since` (default 24 h), newest first, each with the skips logged since. */
  async list(options: { since?: DurationInput } = {}): Promise<GateMarkWithSkips[]> {
    const sinceMs = options.since === undefined ? DEFAULT_GATE_WINDOW_MS : durationMs(options.since, "since");
    const now = await this.#claims.now();
    const claims = await this.#claims.list({ state: "completed", prefix: "gate:" });
    const marks = claims
      .map(markOf)
      .filter((m): m is GateMark => m !== null && m.at.getTime() > now.getTime() - sinceMs)
      .sort((a, b) => b.at.getTime() - a.at.getTime());
    if (marks.length === 0) return [];
    const skips = await this.#skips(sinceMs);
    return marks.map((m) => this.#withSkips(m, skips));
  }

  /** Forget a mark so the effect can fire again: logged (a reopened grant, then abandoned). */
  async forget(keyInput: string, options: GateOptions & { as: string }): Promise<GateForgetResult> {
    const key = gateKey(keyInput);
    const agent = parseAgent(options.as);
    const markers = this.#markers(options);
    const removed = markers?.remove(key) ?? false;
    return forgetAnswer(key, await this.forgetMark(key, { as: agent }), removed);
  }

  /**
   * The registry's part of {@link forget}, marker files aside (a server's: the caller keeps its
   * own): the mark reopened and abandoned, logged; `unmarked` when there is none.
   */
  async forgetMark(keyInput: string, options: { as: string }): Promise<GateForgetOutcome> {
    const key = gateKey(keyInput);
    const agent = parseAgent(options.as);
    const { claim } = await this.#claims.show(key, { events: 1 });
    if (claim === null || claim.state !== "completed") return { outcome: "unmarked" };
    const reopened = await this.#claims.claim(key, { as: agent, reopen: true, ttl: 60_000 });
    if (!reopened.ok) return { outcome: "refused", code: reopened.code ?? "CLAIM_HELD", message: reopened.message };
    await this.#claims.abandon(key, { as: agent, reason: `gate mark forgotten by ${agent}` });
    return { outcome: "forgotten" };
  }
}

/** What `gate forget` answers. */
export interface GateForgetResult {
  readonly ok: boolean;
  readonly message: string;
}

/** What became of a gate's mark in the registry when it was forgotten. */
export type GateForgetOutcome =
  | { readonly outcome: "forgotten" }
  | { readonly outcome: "unmarked" }
  | { readonly outcome: "refused"; readonly code: string; readonly message: string };

/**
 * `gate forget`'s answer from the registry's part and whether a marker file was removed: one
 * wording for the library and for a client whose marker files are on its machine while the
 * registry's part ran on a server.
 */
export function forgetAnswer(key: string, registry: GateForgetOutcome, removedMarker: boolean): GateForgetResult {
  switch (registry.outcome) {
    case "forgotten":
      return { ok: true, message: `forgot the mark of ${key} (logged)${removedMarker ? " and its marker file" : ""}` };
    case "unmarked":
      return {
        ok: removedMarker,
        message: removedMarker ? `forgot the marker file of ${key}` : `nothing to forget: ${key} has no mark`,
      };
    case "refused":
      return { ok: false, message: registry.message };
  }
}

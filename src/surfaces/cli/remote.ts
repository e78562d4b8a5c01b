/**
 * What the CLI needs to use a server's answers as it uses the library's: claims and events
 * revived from their JSON views, and the lease helpers' Renewer/Finisher over a BatonApi (so
 * `baton run` keeps a claim held through the server while its command runs here).
 */
import type { BatonApi, OperationResult } from "../../api/baton-api.js";
import { BatonError } from "../../core/errors.js";
import type { BatonEvent, Claim, PathClaim } from "../../core/types.js";
import type { ActionResult } from "../../services/claims.js";
import type { GateLock, GateMark, GateRegistry } from "../../services/gates.js";
import type { Finisher, Renewer } from "../../services/lease.js";

/** A claim as the server sends it (dates as ISO text), as the library returns it. */
export function claimFromView(view: Record<string, unknown>): Claim {
  const date = (value: unknown): Date => new Date(String(value));
  return {
    ...(view as unknown as Claim),
    claimedAt: date(view.claimedAt),
    expiresAt: date(view.expiresAt),
    endedAt: view.endedAt === null || view.endedAt === undefined ? null : date(view.endedAt),
  };
}

/** An audit event as the server sends it, as the library returns it. */
export function eventFromView(view: Record<string, unknown>): BatonEvent {
  return { ...(view as unknown as BatonEvent), at: new Date(String(view.at)) };
}

/**
 * An answer's fields in the order the CLI prints them with `--json`: `ok`, `outcome`, `code`,
 * the others as they come, then `message` and `hint` (the library's own order; applied to the
 * library's answers and the server's alike, so both print the same line).
 */
export function inLibraryOrder(answer: Record<string, unknown>): Record<string, unknown> {
  const first = ["ok", "outcome", "code"];
  const last = ["message", "hint"];
  const out: Record<string, unknown> = {};
  for (const name of first) if (answer[name] !== undefined) out[name] = answer[name];
  for (const [name, value] of Object.entries(answer)) {
    if (!first.includes(name) && !last.includes(name) && value !== undefined) out[name] = value;
  }
  for (const name of last) if (answer[name] !== undefined) out[name] = answer[name];
  return out;
}

/**
 * The server's answer to a write as the library's: `ok`, `code`, `message`, `hint`, and the
 * other fields from `data` (the catalogue sends the library answer's fields there). The
 * holder object and the error `kind` of the HTTP answer are the server's additions: left out.
 */
export function libraryAnswer(result: OperationResult): Record<string, unknown> {
  const data = typeof result.data === "object" && result.data !== null ? (result.data as Record<string, unknown>) : {};
  return inLibraryOrder({
    ok: result.ok,
    ...(result.code === undefined ? {} : { code: result.code }),
    ...data,
    message: result.message,
    ...(result.hint === undefined ? {} : { hint: result.hint }),
  });
}

/** The path claims of a `paths_list` answer (`data.claims`, dates as ISO text), as the library returns them. */
export function pathClaimsOf(result: OperationResult): PathClaim[] {
  const views = (result.data as { claims?: Record<string, unknown>[] } | undefined)?.claims ?? [];
  const date = (value: unknown): Date => new Date(String(value));
  return views.map((view) => ({
    ...(view as unknown as PathClaim),
    claimedAt: date(view.claimedAt),
    expiresAt: date(view.expiresAt),
    endedAt: view.endedAt === null || view.endedAt === undefined ? null : date(view.endedAt),
  }));
}

/** A lease as the catalogue takes it: milliseconds exactly, or the text given. */
export const ttlText = (ttl: number | string | undefined): { ttl?: string } =>
  ttl === undefined ? {} : { ttl: typeof ttl === "number" ? `${ttl}ms` : ttl };

/** A claim-shaped answer of the server as the library's ActionResult (what the lease helpers read). */
export function actionResult(result: OperationResult): ActionResult {
  const view = (result.data as { claim?: Record<string, unknown> | null } | undefined)?.claim ?? null;
  return { ...result, claim: view === null ? null : claimFromView(view) } as unknown as ActionResult;
}

/** The lease helpers' view of a server: renew, complete and release through `api` (the token's agent acts). */
export function remoteLease(api: BatonApi): Renewer & Finisher {
  return {
    async renew(key, options) {
      return actionResult(await api.renew({ key, ...ttlText(options.ttl) }));
    },
    async complete(key, options) {
      return actionResult(
        await api.complete({
          key,
          ...(options.result === undefined ? {} : { result: options.result }),
          ...(options.commit === undefined ? {} : { commit: options.commit }),
        }),
      );
    },
    async release(key, options) {
      return actionResult(
        await api.release({ key, ...(options.commit === undefined ? {} : { commit: options.commit }) }),
      );
    },
  };
}

/** The claim of a `show` answer (`data.claim`; null: never claimed). */
export function shownClaim(result: OperationResult): Claim | null {
  const view = (result.data as { claim?: Record<string, unknown> | null } | undefined)?.claim ?? null;
  return view === null ? null : claimFromView(view);
}

/** A gate mark as the server sends it (the time as ISO text), as the library returns it: its fields in the library's order. */
export function markFromView(view: Record<string, unknown> | null | undefined): GateMark | null {
  if (view === null || view === undefined) return null;
  const text = (value: unknown): string | null => (typeof value === "string" ? value : null);
  return {
    key: String(view.key),
    agent: String(view.agent),
    at: new Date(String(view.at)),
    command: text(view.command),
    digest: text(view.digest),
    note: text(view.note),
    onceOnly: view.onceOnly === true,
    source: view.source === "marker" ? "marker" : "registry",
  };
}

/**
 * The gate protocol's registry steps through a server (`gate_lock`, `show`, and the lease's
 * renew, complete, release): `baton gate run` runs its command and keeps its marker files
 * here while the server decides (the token's agent acts).
 */
export function remoteGate(api: BatonApi): GateRegistry {
  return {
    ...remoteLease(api),
    async current(key) {
      return shownClaim(await api.show({ key, events: 1 }));
    },
    async lock(key, options): Promise<GateLock> {
      const window = ttlText(options.window).ttl;
      const marker = options.marker ?? null;
      const result = await api.gateLock({
        key,
        ...(window === undefined ? {} : { window }),
        ...ttlText(options.ttl),
        ...(options.onceOnly === true ? { onceOnly: true } : {}),
        ...(options.note === undefined ? {} : { note: options.note }),
        ...(options.command === undefined ? {} : { command: options.command }),
        ...(marker === null
          ? {}
          : {
              marker: {
                key: marker.key,
                agent: marker.agent,
                at: marker.at.toISOString(),
                command: marker.command,
                digest: marker.digest,
                note: marker.note,
                onceOnly: marker.onceOnly,
              },
            }),
        ...(options.giveUp === true ? { giveUp: true } : {}),
      });
      const data = (result.data ?? {}) as Record<string, unknown>;
      const holder = typeof data.holder === "string" ? data.holder : null;
      if (result.ok && data.outcome === "locked" && typeof data.claim === "object" && data.claim !== null)
        return {
          outcome: "locked",
          claim: claimFromView(data.claim as Record<string, unknown>),
          mark: markFromView(data.mark as Record<string, unknown> | null),
        };
      if (data.outcome === "busy") return { outcome: "busy", holder };
      if (data.outcome === "skipped")
        return {
          outcome: "skipped",
          reason: data.reason === "marked" ? "marked" : "busy",
          mark: markFromView(data.mark as Record<string, unknown> | null),
          holder,
          message: result.message,
        };
      throw new BatonError("INTERNAL", `gate_lock answered what this client does not read: ${result.message}`);
    },
  };
}

/**
 * Handlers for the claim commands that are not catalogue operations (check, the seed
 * verbs) and `log --follow`. The catalogue's commands are generated: operations.ts.
 * Each validates its flags before the store is opened (bad input touches nothing).
 */
import { parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import { parseAgent, parseKey, parseToken } from "../../core/identity.js";
import { parseText } from "../../core/schemas.js";
import { isoSeconds as iso } from "../../core/time.js";
import type { BatonEvent, EventKind } from "../../core/types.js";
import { type ApiEvent, eventsOf } from "../../api/baton-api.js";
import type { OperationInput, OperationResult } from "../../api/catalogue.js";
import type { HttpBatonApi } from "../../api/http-client.js";
import type { Baton } from "../../baton.js";
import { checkToken, type LogOptions } from "../../services/claims.js";
import type { CommonFlags } from "./main.js";
import { reapedLine, reapFromServer } from "./operations.js";
import { emit, emitNo, type OutputMode } from "./output.js";
import { claimFromView, eventFromView, libraryAnswer, shownClaim, ttlText } from "./remote.js";
import { describeEvent } from "./render.js";
import { withSession } from "./session.js";

/**
 * `work-reap`: the reap of `baton reap` (through a server the `reap` operation, an admin token's),
 * printed as the seed printed it (`hours` as given; no list of the loose ends).
 */
function reapSeed(flags: CommonFlags, parseMinAge: () => number, hours: string): Promise<void> {
  return withSession(
    flags,
    (config) => ({
      minAgeMs: parseMinAge(),
      as: config.agent === undefined ? undefined : parseAgent(config.agent),
    }),
    async (s, p) => {
      const result = s.api
        ? reapFromServer(await s.api.reap({ minAge: `${p.minAgeMs}ms` }))
        : {
            ok: true,
            ...(await s.baton.reap({ minAge: p.minAgeMs, ...(p.as === undefined ? {} : { as: p.as }) })),
          };
      emit(s.mode, result, () => reapedLine(result.reaped.length, `${Number(hours)}h`));
    },
  );
}

/**
 * `log --follow`: the newest `limit` events (or, with `--after`, every later one), then each
 * new one as it is appended, one line each (`--json`: one event object per line), until
 * SIGINT or SIGTERM, which end it with exit 0.
 */
export async function followLog(
  baton: Baton,
  mode: OutputMode,
  filter: Omit<LogOptions, "after" | "limit">,
  after: number | undefined,
  limit: number,
): Promise<void> {
  const print = (events: readonly BatonEvent[]): void => printEvents(mode, events, (event) => event);
  await untilInterrupted(async (signal) => {
    let cursor = after;
    if (cursor === undefined) {
      // Like tail -f: the newest events first, then the new ones.
      const recent = await baton.log({ ...filter, limit });
      print(recent);
      cursor = recent[recent.length - 1]?.id ?? 0;
    }
    for await (const batch of baton.follow({ ...filter, after: cursor, signal })) print(batch);
  });
}

/** Run `follow` until SIGINT or SIGTERM aborts its signal, then return (exit 0, as `tail -f`). */
async function untilInterrupted(follow: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = (): void => stop.abort();
  for (const signal of signals) process.on(signal, onSignal);
  try {
    await follow(stop.signal);
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
  }
}

/** A batch of events, a line each: JSON with --json, else the log's line (`asEvent` reads a view as an event). */
function printEvents<E>(mode: OutputMode, events: readonly E[], asEvent: (event: E) => BatonEvent): void {
  if (events.length === 0) return;
  const lines = events.map((event) => (mode.json ? JSON.stringify(event) : describeEvent(asEvent(event))));
  process.stdout.write(`${lines.join("\n")}\n`);
}

/**
 * `log --follow` through a server: the newest `limit` events (or every one after `after`)
 * from the `log` operation, then the server's event stream (`/v1/events`) from the last one
 * seen, printed as {@link followLog} prints them, until SIGINT or SIGTERM (exit 0).
 */
export async function followServerLog(
  api: HttpBatonApi,
  mode: OutputMode,
  filter: { key?: string; agent?: string; kind?: EventKind[]; since?: string },
  after: number | undefined,
  limit: number,
): Promise<void> {
  const print = (views: readonly ApiEvent[]): void =>
    printEvents(mode, views, (view) => eventFromView(view as unknown as Record<string, unknown>));
  const log = async (input: OperationInput<"log">): Promise<ApiEvent[]> => eventsOf(await api.call("log", input));
  await untilInterrupted(async (signal) => {
    const { since, ...stream } = filter;
    // The stream knows no --since: it starts after the newest event the log had then (events after it are new).
    const newest = since === undefined ? 0 : ((await log({ limit: 1 }))[0]?.id ?? 0);
    let cursor = after ?? 0;
    if (after === undefined) {
      // Like tail -f: the newest events first, then the new ones.
      const recent = await log({ ...filter, limit });
      print(recent);
      cursor = recent[recent.length - 1]?.id ?? 0;
    } else if (since !== undefined) {
      // Every event after the cursor that --since keeps, page by page, as the library's follow reads them.
      for (;;) {
        const page = await log({ ...filter, after: cursor, limit: 1000 });
        print(page);
        cursor = page[page.length - 1]?.id ?? cursor;
        if (page.length < 1000) break;
      }
    }
    cursor = Math.max(cursor, newest);
    for await (const batch of api.follow({ ...stream, after: cursor }, signal)) print(batch);
  });
}

export function check(keyInput: string, flags: CommonFlags & { token: string }): Promise<void> {
  return withSession(
    { ...flags, token: undefined }, // --token is the fencing token here, not a server's

    () => ({ key: parseKey(keyInput), token: parseToken(flags.token) }),
    async (s, p) => {
      const { mode } = s;
      // Through a server: the claim as `show` read it (one read, as the library's check), decided
      // by the library's own function. The bearer token comes from BATON_TOKEN (--token is the fencing token).
      const result = s.api
        ? checkToken(p.key, p.token, shownClaim(await s.api.show({ key: p.key, events: 1 })))
        : await s.baton.check(p.key, p.token);
      if (result.ok) emit(mode, result, result.message);
      else emitNo(mode, result, result.message);
    },
  );
}

// The seed system's verbs. Output lines match the seed CLI so scripts that grep
// them keep working.

function minutes(ms: number): string {
  const m = ms / 60_000;
  return Number.isInteger(m) ? String(m) : m.toFixed(2).replace(/\.?0+$/, "");
}

/**
 * Through a server a seed verb's SESSION is the agent, as `--as` is: the server refuses
 * (`FORBIDDEN`, nothing changed) a session other than the token's agent unless the token is an admin's.
 */
function serverAs(api: HttpBatonApi, session: string): HttpBatonApi {
  return api.actingAs(session);
}

/** A claim-shaped answer of the server as the library's (its fields from `data`, the claim revived). */
function claimAnswerOf<T>(result: OperationResult): T {
  const answer = libraryAnswer(result);
  const view = answer.claim as Record<string, unknown> | null | undefined;
  return { ...answer, ...(view === undefined ? {} : { claim: view === null ? null : claimFromView(view) }) } as T;
}

type ClaimAnswer = Awaited<ReturnType<Baton["claim"]>>;
type EndAnswer = Awaited<ReturnType<Baton["complete"]>>;

export function workClaim(session: string, keyInput: string, flags: CommonFlags & { ttl: string }): Promise<void> {
  return withSession(
    flags,
    () => ({ key: parseKey(keyInput), as: parseAgent(session), ttl: parseDuration(flags.ttl, { name: "--ttl" }) }),
    async (s, p) => {
      const result = s.api
        ? claimAnswerOf<ClaimAnswer>(await serverAs(s.api, p.as).claim({ key: p.key, ...ttlText(p.ttl) }))
        : await s.baton.claim(p.key, { as: p.as, ttl: p.ttl });
      const { mode } = s;
      if (result.ok) {
        emit(mode, result, `claimed ${p.key} (expires in ${minutes(p.ttl)} min)`);
      } else if (result.outcome === "denied") {
        emitNo(mode, result, `DENIED: already claimed by ${result.holder} (expires ${iso(result.claim.expiresAt)})`);
      } else {
        emitNo(mode, result, `DENIED: ${result.message.replace(/^denied: /, "")}`);
      }
    },
  );
}

/** The seed's `work-complete` / `work-abandon`: end KEY for SESSION, here or through a server. */
function endWork(
  verb: "complete" | "abandon",
  session: string,
  keyInput: string,
  flags: CommonFlags,
  text: { flag: "--result" | "--reason"; value: string | undefined },
): Promise<void> {
  return withSession(
    flags,
    () => ({ key: parseKey(keyInput), as: parseAgent(session), text: parseText(text.value, text.flag) }),
    async (s, p) => {
      const field = verb === "complete" ? "result" : "reason";
      const extra = p.text === null ? {} : { [field]: p.text };
      const result = s.api
        ? claimAnswerOf<EndAnswer>(await serverAs(s.api, p.as)[verb]({ key: p.key, ...extra }))
        : await s.baton[verb](p.key, { as: p.as, ...extra });
      if (result.ok) emit(s.mode, result, `${verb === "complete" ? "completed" : "abandoned"} ${p.key}`);
      else emitNo(s.mode, result, `NOT HELD: ${result.message}`);
    },
  );
}

export function workComplete(
  session: string,
  keyInput: string,
  flags: CommonFlags & { result?: string },
): Promise<void> {
  return endWork("complete", session, keyInput, flags, { flag: "--result", value: flags.result });
}

export function workAbandon(
  session: string,
  keyInput: string,
  flags: CommonFlags & { reason?: string },
): Promise<void> {
  return endWork("abandon", session, keyInput, flags, { flag: "--reason", value: flags.reason });
}

export function workReap(flags: CommonFlags & { minAgeHours: string }): Promise<void> {
  const hours = flags.minAgeHours.trim();
  return reapSeed(
    flags,
    () => {
      if (!/^\d+(\.\d+)?$/.test(hours)) {
        throw new BatonError(
          "BAD_DURATION",
          `invalid --min-age-hours ${JSON.stringify(hours)}: expected a number of hours`,
        );
      }
      return parseDuration(`${hours}h`, { name: "--min-age-hours", allowZero: true });
    },
    hours,
  );
}

export function workList(flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    () => undefined,
    async (s) => {
      // The library's default listing: live claims, at most 1000 (the server's default is 100).
      const claims = s.api
        ? ((await s.api.list({ limit: 1000 })).data as { claims: Record<string, unknown>[] }).claims.map(claimFromView)
        : await s.baton.list();
      emit(s.mode, { ok: true, claims }, () =>
        claims.map((c) => `${c.key}  ${c.agent}  (expires ${iso(c.expiresAt)})`).join("\n"),
      );
    },
  );
}

/**
 * Handlers for the claim commands. Each validates its flags before the store is
 * opened (bad input touches nothing), calls one library method, and renders.
 */
import { formatDuration, parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import { parseAgent, parseKey, parseToken } from "../../core/identity.js";
import { parseCommit, parseLimit, parseMeta, parseText } from "../../core/schemas.js";
import { type BatonEvent, type Claim, type ClaimState, EVENT_KINDS, type EventKind } from "../../core/types.js";
import type { Baton } from "../../baton.js";
import { type LogOptions, parseStates, type ShowResult } from "../../services/claims.js";
import { requireAgent } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emit, emitNo, type OutputMode, table } from "./output.js";
import { claimFromView, eventFromView, ttlText } from "./remote.js";
import { remoteUnsupported, withSession } from "./session.js";

const iso = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");

function ttlFlag(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value, { name: "--ttl" });
}

function splitList(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
}

function renderClaimResult(mode: OutputMode, result: { readonly ok: boolean; readonly message: string }): void {
  if (result.ok) emit(mode, result, result.message);
  else emitNo(mode, result, result.message);
}

function relative(claim: Claim, now: Date): string {
  if (claim.state === "active") return `expires in ${formatDuration(claim.expiresAt.getTime() - now.getTime())}`;
  if (claim.state === "expired") return `expired ${formatDuration(now.getTime() - claim.expiresAt.getTime())} ago`;
  return `${claim.state} ${claim.endedAt ? `${formatDuration(now.getTime() - claim.endedAt.getTime())} ago` : ""}`.trim();
}

function describeEvent(event: BatonEvent): string {
  const parts = [iso(event.at), event.kind.padEnd(9), event.key, event.agent];
  if (event.token !== null) parts.push(`token=${event.token}`);
  if (event.commit !== null) parts.push(`commit=${event.commit}`);
  const d = event.detail ?? {};
  if (event.kind === "denied") {
    const holders = Array.isArray(d.conflicts)
      ? [...new Set((d.conflicts as { holder?: unknown }[]).map((c) => String(c.holder)))].join(", ")
      : String(d.holder);
    parts.push(`(${String(d.code)}: ${holders})`);
  }
  if (typeof d.result === "string") parts.push(`result=${JSON.stringify(d.result)}`);
  if (typeof d.reason === "string") parts.push(`reason=${JSON.stringify(d.reason)}`);
  if (event.kind === "reaped" && typeof d.by === "string") parts.push(`by=${d.by}`);
  if (typeof d.text === "string") parts.push(JSON.stringify(d.text));
  if (event.kind === "skipped")
    parts.push(
      d.reason === "marked" ? `(marked by ${String(d.markedBy)})` : `(running: ${String(d.holder ?? "another agent")})`,
    );
  if (event.kind === "handed_off")
    parts.push(
      `(to ${String(d.to)}, was token ${String(d.previousToken)}${typeof d.note === "string" ? `: ${JSON.stringify(d.note)}` : ""})`,
    );
  if (event.kind === "resolved")
    parts.push(
      `(${String(d.previousState)}, held by ${String(d.holder)}${typeof d.note === "string" ? `: ${JSON.stringify(d.note)}` : ""})`,
    );
  if (typeof d.via === "string") parts.push(`(${d.via}, held by ${String(d.holder)})`);
  if (event.kind === "verified")
    parts.push(`(done by ${String(d.completedBy)}${typeof d.note === "string" ? `: ${JSON.stringify(d.note)}` : ""})`);
  return parts.join("  ");
}

interface ClaimFlags extends CommonFlags {
  ttl?: string;
  meta?: string;
  reopen?: boolean;
  similar?: string;
  strictSimilar?: boolean;
}

/** The near-duplicate mode: --strict-similar > --similar > BATON_SIMILAR / config > warn. */
function similarFlag(
  flags: ClaimFlags,
  config: { similar: "warn" | "strict" | "off" | undefined },
): "warn" | "strict" | "off" {
  if (flags.strictSimilar === true) return "strict";
  const mode = flags.similar ?? config.similar ?? "warn";
  if (mode !== "warn" && mode !== "strict" && mode !== "off") {
    throw new BatonError("BAD_OPTION", `invalid --similar ${JSON.stringify(mode)}: use warn, strict or off`);
  }
  return mode;
}

export function claim(keyInput: string, flags: ClaimFlags): Promise<void> {
  return withSession(
    flags,
    (config) => ({
      key: parseKey(keyInput),
      as: requireAgent(config, "claim"),
      ttl: ttlFlag(flags.ttl),
      meta: parseMeta(flags.meta),
      similar: similarFlag(flags, config),
    }),
    async (s, p) => {
      const result = s.api
        ? await s.api.claim({
            key: p.key,
            ...ttlText(p.ttl),
            ...(p.meta === null ? {} : { meta: p.meta }),
            reopen: flags.reopen === true,
            similar: p.similar,
          })
        : await s.baton.claim(p.key, {
            as: p.as,
            ...(p.ttl === undefined ? {} : { ttl: p.ttl }),
            ...(p.meta === null ? {} : { meta: p.meta }),
            reopen: flags.reopen === true,
            similar: p.similar,
          });
      renderClaimResult(s.mode, result);
    },
  );
}

export function renew(keyInput: string, flags: CommonFlags & { ttl?: string }): Promise<void> {
  return withSession(
    flags,
    (config) => ({ key: parseKey(keyInput), as: requireAgent(config, "renew"), ttl: ttlFlag(flags.ttl) }),
    async (s, p) => {
      renderClaimResult(
        s.mode,
        s.api
          ? await s.api.renew({ key: p.key, ...ttlText(p.ttl) })
          : await s.baton.renew(p.key, { as: p.as, ...(p.ttl === undefined ? {} : { ttl: p.ttl }) }),
      );
    },
  );
}

export function complete(
  keyInput: string,
  flags: CommonFlags & { result?: string; commit?: string; outcome?: string },
): Promise<void> {
  return withSession(
    flags,
    (config) => {
      if (flags.outcome !== undefined && !["success", "failure", "noop"].includes(flags.outcome)) {
        throw new BatonError(
          "BAD_OPTION",
          `invalid --outcome ${JSON.stringify(flags.outcome)}: success, failure or noop`,
        );
      }
      return {
        key: parseKey(keyInput),
        as: requireAgent(config, "complete"),
        result: parseText(flags.result, "--result"),
        commit: parseCommit(flags.commit),
        outcome: flags.outcome as "success" | "failure" | "noop" | undefined,
      };
    },
    async (s, p) => {
      const fields = {
        ...(p.result === null ? {} : { result: p.result }),
        ...(p.commit === null ? {} : { commit: p.commit }),
        ...(p.outcome === undefined ? {} : { outcome: p.outcome }),
      };
      renderClaimResult(
        s.mode,
        s.api
          ? await s.api.complete({ key: p.key, ...fields })
          : await s.baton.complete(p.key, { as: p.as, ...fields }),
      );
    },
  );
}

export function release(keyInput: string, flags: CommonFlags & { commit?: string }): Promise<void> {
  return withSession(
    flags,
    (config) => ({ key: parseKey(keyInput), as: requireAgent(config, "release"), commit: parseCommit(flags.commit) }),
    async (s, p) => {
      const fields = p.commit === null ? {} : { commit: p.commit };
      renderClaimResult(
        s.mode,
        s.api ? await s.api.release({ key: p.key, ...fields }) : await s.baton.release(p.key, { as: p.as, ...fields }),
      );
    },
  );
}

export function handoff(keyInput: string, flags: CommonFlags & { to?: string; note?: string }): Promise<void> {
  return withSession(
    flags,
    (config) => {
      if (flags.to === undefined)
        throw new BatonError("BAD_OPTION", "handoff needs --to AGENT: who takes the claim over");
      return {
        key: parseKey(keyInput),
        as: requireAgent(config, "handoff"),
        to: parseAgent(flags.to),
        note: parseText(flags.note, "--note"),
      };
    },
    async (s, p) => {
      const fields = { to: p.to, ...(p.note === null ? {} : { note: p.note }) };
      renderClaimResult(
        s.mode,
        s.api ? await s.api.handoff({ key: p.key, ...fields }) : await s.baton.handoff(p.key, { as: p.as, ...fields }),
      );
    },
  );
}

export function abandon(keyInput: string, flags: CommonFlags & { reason?: string }): Promise<void> {
  return withSession(
    flags,
    (config) => ({
      key: parseKey(keyInput),
      as: requireAgent(config, "abandon"),
      reason: parseText(flags.reason, "--reason"),
    }),
    async (s, p) => {
      const fields = p.reason === null ? {} : { reason: p.reason };
      renderClaimResult(
        s.mode,
        s.api ? await s.api.abandon({ key: p.key, ...fields }) : await s.baton.abandon(p.key, { as: p.as, ...fields }),
      );
    },
  );
}

function reapWith(
  flags: CommonFlags,
  parseMinAge: () => number,
  render: (count: number, minAgeMs: number) => string,
  withList: boolean,
): Promise<void> {
  return withSession(
    flags,
    (config) => ({
      minAgeMs: parseMinAge(),
      as: config.agent === undefined ? undefined : parseAgent(config.agent),
    }),
    async ({ baton, mode }, p) => {
      const result = await baton.reap({ minAge: p.minAgeMs, ...(p.as === undefined ? {} : { as: p.as }) });
      emit(mode, { ok: true, ...result }, () => {
        const lines = [render(result.reaped.length, p.minAgeMs)];
        if (withList) {
          for (const c of result.reaped) {
            lines.push(`  loose end: ${c.key}  (${c.agent}, token ${c.token}, expired ${iso(c.expiresAt)})`);
          }
        }
        return lines.join("\n");
      });
    },
  );
}

const reapedLine = (n: number, age: string): string =>
  `reaped ${n} stale claim${n === 1 ? "" : "s"} (expired >${age}) -> abandoned`;

export function reap(flags: CommonFlags & { minAge?: string }): Promise<void> {
  return reapWith(
    flags,
    () =>
      flags.minAge === undefined ? 24 * 3_600_000 : parseDuration(flags.minAge, { name: "--min-age", allowZero: true }),
    (n, ms) => reapedLine(n, formatDuration(ms)),
    true,
  );
}

export function show(keyInput: string, flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    () => parseKey(keyInput),
    async (s, key) => {
      const { mode } = s;
      let result: ShowResult;
      let now: Date;
      if (s.api) {
        const data = (await s.api.show({ key, events: 20 })).data as {
          claim: Record<string, unknown> | null;
          events: Record<string, unknown>[];
          now: string;
        };
        result = {
          claim: data.claim === null ? null : claimFromView(data.claim),
          events: data.events.map(eventFromView),
        };
        now = new Date(data.now);
      } else {
        result = await s.baton.show(key);
        now = await s.baton.now();
      }
      if (result.claim === null) {
        emitNo(
          mode,
          { ok: false, code: "NOT_FOUND", key, claim: null, events: result.events },
          `${key}: never claimed`,
        );
        return;
      }
      const c = result.claim;
      emit(mode, { ok: true, key, ...result }, () => {
        const lines = [
          `key:      ${c.key}`,
          `state:    ${c.state} (${relative(c, now)})`,
          `holder:   ${c.agent} (token ${c.token}) since ${iso(c.claimedAt)}`,
          `expires:  ${iso(c.expiresAt)}`,
        ];
        if (c.meta !== null) lines.push(`meta:     ${JSON.stringify(c.meta)}`);
        if (c.result !== null) lines.push(`result:   ${c.result}`);
        if (c.commit !== null) lines.push(`commit:   ${c.commit}`);
        if (c.reason !== null) lines.push(`reason:   ${c.reason}`);
        lines.push("events:");
        for (const event of result.events) lines.push(`  ${describeEvent(event)}`);
        return lines.join("\n");
      });
    },
  );
}

interface ListFlags extends CommonFlags {
  state?: string;
  agent?: string;
  mine?: boolean;
  prefix?: string;
  limit?: string;
}

export function list(flags: ListFlags): Promise<void> {
  return withSession(
    flags,
    (config) => {
      if (flags.mine && flags.agent !== undefined) {
        throw new BatonError("BAD_OPTION", "--mine and --agent cannot be used together");
      }
      const agent = flags.mine
        ? requireAgent(config, "list --mine")
        : flags.agent === undefined
          ? undefined
          : parseAgent(flags.agent);
      const states = splitList(flags.state);
      const state =
        states === undefined ? undefined : states.includes("all") ? ("all" as const) : (states as ClaimState[]);
      parseStates(state); // refuse a bad --state before the store is opened
      return {
        agent,
        state,
        limit: parseLimit(flags.limit, 1000),
      };
    },
    async (s, p) => {
      const { mode } = s;
      let claims: Claim[];
      let now: Date;
      if (s.api) {
        const data = (
          await s.api.list({
            ...(flags.mine ? { mine: true } : p.agent === undefined ? {} : { agent: p.agent }),
            ...(p.state === undefined ? {} : { state: p.state === "all" ? ["all"] : [...p.state] }),
            ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }),
            limit: p.limit,
          })
        ).data as { claims: Record<string, unknown>[]; now: string };
        claims = data.claims.map(claimFromView);
        now = new Date(data.now);
      } else {
        claims = await s.baton.list({
          ...(p.agent === undefined ? {} : { agent: p.agent }),
          ...(p.state === undefined ? {} : { state: p.state }),
          ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }),
          limit: p.limit,
        });
        now = await s.baton.now();
      }
      emit(mode, { ok: true, claims }, () => {
        if (claims.length === 0) return p.state === undefined ? "no live claims" : "no claims";
        return table(
          ["KEY", "AGENT", "TOKEN", "STATE", "WHEN"],
          claims.map((c) => [c.key, c.agent, String(c.token), c.state, relative(c, now)]),
        );
      });
    },
  );
}

/** `--kind`, checked before the store is opened (bad input touches nothing). */
function kindsFlag(value: string | undefined): EventKind[] | undefined {
  const list = splitList(value);
  for (const kind of list ?? []) {
    if (!(EVENT_KINDS as readonly string[]).includes(kind)) {
      throw new BatonError(
        "BAD_OPTION",
        `invalid event kind ${JSON.stringify(kind)}: use one of ${EVENT_KINDS.join(", ")}`,
      );
    }
  }
  return list as EventKind[] | undefined;
}

/** `--after`: an event id (0 or more), checked before the store is opened. */
function cursorFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new BatonError("BAD_OPTION", `invalid --after ${JSON.stringify(value)}: an event id (0 or more)`);
  }
  return Number(value);
}

interface LogFlags extends CommonFlags {
  agent?: string;
  since?: string;
  kind?: string;
  limit?: string;
  after?: string;
  follow?: boolean;
}

export function log(keyInput: string | undefined, flags: LogFlags): Promise<void> {
  return withSession(
    flags,
    () => ({
      key: keyInput === undefined ? undefined : parseKey(keyInput),
      agent: flags.agent === undefined ? undefined : parseAgent(flags.agent),
      since: flags.since === undefined ? undefined : parseDuration(flags.since, { name: "--since" }),
      kinds: kindsFlag(flags.kind),
      limit: parseLimit(flags.limit, 100),
      after: cursorFlag(flags.after),
    }),
    async (s, p) => {
      const { mode } = s;
      const filter = {
        ...(p.key === undefined ? {} : { key: p.key }),
        ...(p.agent === undefined ? {} : { agent: p.agent }),
        ...(p.kinds === undefined ? {} : { kind: p.kinds }),
      };
      if (flags.follow === true) {
        if (s.api) throw remoteUnsupported("baton log --follow");
        await followLog(
          s.baton,
          mode,
          { ...filter, ...(p.since === undefined ? {} : { since: p.since }) },
          p.after,
          p.limit,
        );
        return;
      }
      const after = p.after === undefined ? {} : { after: p.after };
      const events = s.api
        ? (
            await s.api.events({
              ...filter,
              ...after,
              limit: p.limit,
              ...(p.since === undefined ? {} : { since: `${p.since}ms` }),
            })
          ).map((e) => eventFromView({ ...e }))
        : await s.baton.log({
            ...filter,
            ...after,
            limit: p.limit,
            ...(p.since === undefined ? {} : { since: p.since }),
          });
      emit(mode, { ok: true, events }, () =>
        events.length === 0 ? "no events" : events.map(describeEvent).join("\n"),
      );
    },
  );
}

/**
 * `log --follow`: the newest `limit` events (or, with `--after`, every later one), then each
 * new one as it is appended, one line each (`--json`: one event object per line), until
 * SIGINT or SIGTERM, which end it with exit 0.
 */
async function followLog(
  baton: Baton,
  mode: OutputMode,
  filter: Omit<LogOptions, "after" | "limit">,
  after: number | undefined,
  limit: number,
): Promise<void> {
  const stop = new AbortController();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = (): void => stop.abort();
  for (const signal of signals) process.on(signal, onSignal);
  const print = (events: readonly BatonEvent[]): void => {
    if (events.length === 0) return;
    const lines = events.map((event) => (mode.json ? JSON.stringify(event) : describeEvent(event)));
    process.stdout.write(`${lines.join("\n")}\n`);
  };
  try {
    let cursor = after;
    if (cursor === undefined) {
      // Like tail -f: the newest events first, then the new ones.
      const recent = await baton.log({ ...filter, limit });
      print(recent);
      cursor = recent[recent.length - 1]?.id ?? 0;
    }
    for await (const batch of baton.follow({ ...filter, after: cursor, signal: stop.signal })) print(batch);
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
  }
}

export function check(keyInput: string, flags: CommonFlags & { token: string }): Promise<void> {
  return withSession(
    { ...flags, token: undefined }, // --token is the fencing token here, not a server's

    () => ({ key: parseKey(keyInput), token: parseToken(flags.token) }),
    async ({ baton, mode }, p) => {
      const result = await baton.check(p.key, p.token);
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

export function workClaim(session: string, keyInput: string, flags: CommonFlags & { ttl: string }): Promise<void> {
  return withSession(
    flags,
    () => ({ key: parseKey(keyInput), as: parseAgent(session), ttl: parseDuration(flags.ttl, { name: "--ttl" }) }),
    async ({ baton, mode }, p) => {
      const result = await baton.claim(p.key, { as: p.as, ttl: p.ttl });
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

export function workComplete(
  session: string,
  keyInput: string,
  flags: CommonFlags & { result?: string },
): Promise<void> {
  return withSession(
    flags,
    () => ({ key: parseKey(keyInput), as: parseAgent(session), result: parseText(flags.result, "--result") }),
    async ({ baton, mode }, p) => {
      const result = await baton.complete(p.key, { as: p.as, ...(p.result === null ? {} : { result: p.result }) });
      if (result.ok) emit(mode, result, `completed ${p.key}`);
      else emitNo(mode, result, `NOT HELD: ${result.message}`);
    },
  );
}

export function workAbandon(
  session: string,
  keyInput: string,
  flags: CommonFlags & { reason?: string },
): Promise<void> {
  return withSession(
    flags,
    () => ({ key: parseKey(keyInput), as: parseAgent(session), reason: parseText(flags.reason, "--reason") }),
    async ({ baton, mode }, p) => {
      const result = await baton.abandon(p.key, { as: p.as, ...(p.reason === null ? {} : { reason: p.reason }) });
      if (result.ok) emit(mode, result, `abandoned ${p.key}`);
      else emitNo(mode, result, `NOT HELD: ${result.message}`);
    },
  );
}

export function workReap(flags: CommonFlags & { minAgeHours: string }): Promise<void> {
  const hours = flags.minAgeHours.trim();
  return reapWith(
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
    (n) => reapedLine(n, `${Number(hours)}h`),
    false,
  );
}

export function workList(flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    () => undefined,
    async ({ baton, mode }) => {
      const claims = await baton.list();
      emit(mode, { ok: true, claims }, () =>
        claims.map((c) => `${c.key}  ${c.agent}  (expires ${iso(c.expiresAt)})`).join("\n"),
      );
    },
  );
}

export function note(keyInput: string, text: string, flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    (config) => {
      const key = parseKey(keyInput);
      const as = requireAgent(config, "note");
      if (parseText(text, "note") === null || text.trim() === "")
        throw new BatonError("BAD_INPUT", "note needs text: what was done, what is next");
      return { key, as };
    },
    async (s, p) => {
      const result = s.api ? await s.api.note({ key: p.key, text }) : await s.baton.note(p.key, { as: p.as, text });
      emit(s.mode, result, result.message);
    },
  );
}

/** `verify KEY [--note]` and `resolve KEY [--note]`: a key, an agent, an optional note, a yes or a no. */
function keyWithNote(
  command: "verify" | "resolve",
  keyInput: string,
  flags: CommonFlags & { note?: string },
): Promise<void> {
  return withSession(
    flags,
    (config) => ({ key: parseKey(keyInput), as: requireAgent(config, command), note: parseText(flags.note, "--note") }),
    async (s, p) => {
      const fields = p.note === null ? {} : { note: p.note };
      const options = { as: p.as, ...fields };
      const result = s.api
        ? await s.api[command]({ key: p.key, ...fields })
        : command === "verify"
          ? await s.baton.verify(p.key, options)
          : await s.baton.resolve(p.key, options);
      renderClaimResult(s.mode, result);
    },
  );
}

/** Close a loose end (an abandoned or expired claim). */
export function resolve(keyInput: string, flags: CommonFlags & { note?: string }): Promise<void> {
  return keyWithNote("resolve", keyInput, flags);
}

export function verify(keyInput: string, flags: CommonFlags & { note?: string }): Promise<void> {
  return keyWithNote("verify", keyInput, flags);
}

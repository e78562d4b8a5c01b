/**
 * Operator views: read-only operations for people watching a fleet (the dashboard at
 * `baton serve`'s `/`, or any HTTP client). They are catalogue {@link Operation}s like
 * the others — the same zod input, the same answer shape, served under `/v1` — but kept
 * out of the MCP tool list: an agent does not need them, and that list has a 3,000-token
 * budget. Each composes existing {@link Baton} methods; none writes.
 */
import { z } from "zod";
import type { BatonEvent, EventKind } from "../core/types.js";
import { claimView, type Operation, pathClaimView } from "./catalogue.js";
import { isoString } from "../core/time.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** An agent with no event of its own for this long is shown as silent. */
export const SILENT_AFTER_MS = 30 * MINUTE;
/** The kinds an agent's timeline shows. */
const TIMELINE_KINDS: readonly EventKind[] = [
  "granted",
  "completed",
  "released",
  "denied",
  "abandoned",
  "reaped",
  "handed_off",
  "resolved",
];

function op<S extends z.ZodObject>(operation: Operation<S>): Operation {
  return operation as unknown as Operation;
}

/** Denials and grants in `buckets` equal slices of the last `spanMs`, oldest first (gate keys left out, as supply does). */
function buckets(events: readonly BatonEvent[], now: number, spanMs: number, count: number) {
  const size = spanMs / count;
  const out = Array.from({ length: count }, (_, i) => ({
    start: isoString(new Date(now - spanMs + i * size)),
    granted: 0,
    denied: 0,
  }));
  for (const e of events) {
    const i = Math.floor((e.at.getTime() - (now - spanMs)) / size);
    const bucket = out[Math.min(Math.max(i, 0), count - 1)];
    if (bucket !== undefined && (e.kind === "granted" || e.kind === "denied")) bucket[e.kind]++;
  }
  return out;
}

/**
 * The operator views, in the order the OpenAPI document lists them. The audit log the
 * dashboard pages through is the catalogue's `log` (with its `cursor`).
 */
export const VIEW_OPERATIONS: readonly Operation[] = [
  op({
    name: "fleet",
    summary:
      "Who holds what: live work claims, gates in flight, path claims of every repository, loose ends with their last note, and one row per agent with its recent timeline.",
    input: z.object({
      hours: z.number().int().min(1).max(48).optional().describe("the agents' timeline span (default 6)"),
    }),
    mutates: false,
    idempotent: true,
    destructive: false,
    local: false,
    codes: [],
    async run(baton, input) {
      const now = await baton.now();
      const t = now.getTime();
      const spanMs = (input.hours ?? 6) * HOUR;
      const [live, loose, paths, span] = await Promise.all([
        baton.list({ limit: 1000 }),
        baton.list({ state: ["abandoned", "expired"], limit: 200 }),
        baton.listPaths({ allRepos: true, limit: 1000 }),
        baton.log({ since: spanMs, limit: 100_000 }),
      ]);
      const recent = span.filter((e) => TIMELINE_KINDS.includes(e.kind));
      // Expired claims are loose ends, not live work: list(active) already leaves them out.
      const looseEnds = [];
      for (const claim of loose.sort(
        (a, b) => (b.endedAt ?? b.expiresAt).getTime() - (a.endedAt ?? a.expiresAt).getTime(),
      )) {
        const [note] = await baton.log({ key: claim.key, kind: "noted", limit: 1 });
        looseEnds.push({
          ...claimView(claim),
          note: typeof note?.detail?.text === "string" ? note.detail.text : null,
          noteAt: note === undefined || note === null ? null : isoString(note.at),
        });
      }
      // Last activity of every agent over the span (any kind), and its timeline kinds.
      const lastSeen = new Map<string, number>();
      for (const e of span) lastSeen.set(e.agent, Math.max(lastSeen.get(e.agent) ?? 0, e.at.getTime()));
      const byAgent = new Map<string, BatonEvent[]>();
      for (const e of recent) {
        const list = byAgent.get(e.agent);
        if (list === undefined) byAgent.set(e.agent, [e]);
        else list.push(e);
      }
      const names = new Set<string>([...lastSeen.keys(), ...live.map((c) => c.agent)]);
      const agents = [...names].sort().map((agent) => {
        const own = byAgent.get(agent) ?? [];
        const holding = live.filter((c) => c.agent === agent).length;
        const last = lastSeen.get(agent) ?? null;
        const counts: Record<string, number> = {};
        for (const e of own) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
        const status = last === null || t - last >= SILENT_AFTER_MS ? "silent" : holding === 0 ? "idle" : "working";
        return {
          agent,
          status,
          live: holding,
          lastAt: last === null ? null : isoString(new Date(last)),
          counts,
          timeline: own.slice(-300).map((e) => ({ id: e.id, at: isoString(e.at), kind: e.kind, key: e.key })),
        };
      });
      const work = live.filter((c) => !c.key.startsWith("gate:"));
      const gates = live.filter((c) => c.key.startsWith("gate:"));
      return {
        ok: true,
        message: `${work.length} live claims, ${gates.length} gates in flight, ${paths.length} path claims, ${looseEnds.length} loose ends, ${agents.length} agents`,
        data: {
          now: isoString(now),
          since: isoString(new Date(t - spanMs)),
          silentAfterMs: SILENT_AFTER_MS,
          claims: work.map(claimView),
          gates: gates.map(claimView),
          paths: paths.map(pathClaimView),
          looseEnds,
          agents,
        },
      };
    },
  }),
  op({
    name: "contention",
    summary:
      "Denials over the last hour and day, the denial rate, agents told to stop shopping, the backlog's supply verdict, and next's top candidates with their score terms (nothing claimed).",
    input: z.object({}),
    mutates: false,
    idempotent: true,
    destructive: false,
    local: false,
    codes: [],
    async run(baton, _input, context) {
      const now = (await baton.now()).getTime();
      const day = (await baton.log({ since: 24 * HOUR, kind: ["granted", "denied"], limit: 100_000 })).filter(
        (e) => !e.key.startsWith("gate:"),
      );
      const hour = day.filter((e) => e.at.getTime() > now - HOUR);
      const supply = await baton.supply();
      const preview = await baton.next({ as: context.agent, cwd: context.cwd, dryRun: true });
      const denied = hour.filter((e) => e.kind === "denied").length;
      // Supply's rule: two denials in the last hour mean "stop shopping for lanes".
      const shoppers = Object.entries(supply.denials)
        .filter(([, n]) => n >= 2)
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
        .map(([agent, denials]) => ({ agent, denials }));
      return {
        ok: true,
        message: `${denied} of ${hour.length} claim decisions denied in the last hour; supply ${supply.verdict}`,
        data: {
          hour: {
            decisions: hour.length,
            denials: denied,
            rate: hour.length === 0 ? 0 : denied / hour.length,
            buckets: buckets(hour, now, HOUR, 12),
          },
          day: {
            decisions: day.length,
            denials: day.filter((e) => e.kind === "denied").length,
            rate: day.length === 0 ? 0 : day.filter((e) => e.kind === "denied").length / day.length,
            buckets: buckets(day, now, 24 * HOUR, 24),
          },
          shoppers,
          supply,
          candidates: preview.candidates,
          wouldTake: preview.task?.id ?? null,
        },
      };
    },
  }),
];

/**
 * `baton context`: one block for a session's prompt, so it starts informed. Sections
 * in a fixed order; within a character budget, each section shows what fits and
 * summarises the rest with a count. My own claims and the contention and supply
 * section (the supply verdicts and the stop-shopping signal) are never cut, even past
 * the budget; the other sections get what is left in order of importance — rules,
 * loose ends, other agents' claims, gates, recent completions — so the least important
 * shrink first; a section with no room at all is left out with every less important
 * one, and those are named with their counts in one closing line (`_Left out (budget): …_`). The
 * JSON form carries the same items.
 */
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import { parseAgent } from "../core/identity.js";
import type { BatonEvent, Claim } from "../core/types.js";
import type { Store } from "../store/store.js";
import type { GateMark } from "./gates.js";
import type { RulesInfo } from "./rules.js";
import { LAST_HOUR_DECISIONS } from "./tasks.js";
import { isoSeconds as iso, isoString } from "../core/time.js";

/** Default budget, in characters. */
export const DEFAULT_CONTEXT_BUDGET = 4000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface ContextItem {
  readonly text: string;
  readonly data: Record<string, unknown>;
}

export interface ContextSection {
  readonly id: "rules" | "mine" | "loose_ends" | "others" | "completed" | "gates" | "contention";
  readonly title: string;
  /** Items shown (within the budget). */
  readonly items: ContextItem[];
  /** How many there were in all. */
  readonly total: number;
  /** True when the budget left no room for the section at all (named in the closing line). */
  readonly omitted: boolean;
}

export interface ContextResult {
  readonly agent: string | null;
  readonly generatedAt: Date;
  readonly budget: number;
  readonly sections: ContextSection[];
  readonly markdown: string;
}

export interface ContextInput {
  as?: string;
  budget?: number;
  rules: RulesInfo | null;
  /** Recent gate marks (from the gate service). */
  gates: GateMark[];
  /** The last hour's claim decisions ({@link LAST_HOUR_DECISIONS}), when the caller read them already (for supply too). */
  lastHour?: readonly BatonEvent[];
  /** The backlog's supply (from the task service), shown with contention. */
  supply?: {
    ready: number;
    claimed: number;
    blocked: number;
    done: number;
    verdict: string;
    rule: string;
    /** Every verdict that applies, most severe first (all shown, joined with `+`). */
    verdicts?: readonly { verdict: string; rule: string }[];
  };
}

/** `backlog: drained + contended — ready 0, … (rule; rule)`: every supply verdict on one line. */
function backlogLine(supply: NonNullable<ContextInput["supply"]>): string {
  const verdicts = supply.verdicts ?? [{ verdict: supply.verdict, rule: supply.rule }];
  return `backlog: ${verdicts.map((v) => v.verdict).join(" + ")} — ready ${supply.ready}, claimed ${supply.claimed}, blocked ${supply.blocked}, done ${supply.done} (${verdicts.map((v) => v.rule).join("; ")})`;
}

function rel(ms: number): string {
  return ms >= 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`;
}

/** Gather the fleet's state and render it within the budget. */
export async function buildContext(store: Store, input: ContextInput): Promise<ContextResult> {
  const agent = input.as === undefined ? null : parseAgent(input.as);
  const budget = input.budget ?? DEFAULT_CONTEXT_BUDGET;
  if (!Number.isInteger(budget) || budget < 200 || budget > 1_000_000) {
    throw new BatonError(
      "BAD_OPTION",
      `invalid budget ${JSON.stringify(input.budget)}: use an integer from 200 to 1000000 characters`,
    );
  }
  const now = await store.now();
  const t = now.getTime();
  const live = await store.list({ states: ["active"], limit: 100_000 });
  const mine = agent === null ? [] : live.filter((c) => c.agent === agent);
  const others = live.filter((c) => c.agent !== agent);
  const loose = (await store.list({ states: ["abandoned", "expired"], limit: 1000 })).sort(
    (a, b) => (b.endedAt ?? b.expiresAt).getTime() - (a.endedAt ?? a.expiresAt).getTime() || (a.key < b.key ? -1 : 1),
  );
  const completed = (await store.list({ states: ["completed"], limit: 1000 }))
    .filter((c) => c.endedAt !== null && c.endedAt.getTime() > t - DAY && !c.key.startsWith("gate:"))
    .sort((a, b) => (b.endedAt as Date).getTime() - (a.endedAt as Date).getTime() || (a.key < b.key ? -1 : 1));
  // Gate-lock denials are a gate doing its job (its skips are `skipped` events): not contention.
  const recent = (input.lastHour ?? (await store.events(LAST_HOUR_DECISIONS))).filter(
    (e) => !e.key.startsWith("gate:"),
  );
  const denied = recent.filter((e) => e.kind === "denied");
  const myDenials = agent === null ? [] : denied.filter((e) => e.agent === agent);

  // Notes and verifications only for what can be shown: a bounded number of lookups.
  const notes = new Map<string, BatonEvent>();
  for (const claim of loose.slice(0, 20)) {
    const [note] = await store.events({ key: claim.key, kinds: ["noted"], limit: 1 });
    if (note) notes.set(claim.key, note);
  }
  const verified = new Map<string, BatonEvent>();
  for (const claim of completed.slice(0, 20)) {
    const [v] = await store.events({ key: claim.key, kinds: ["verified"], limit: 1 });
    if (v && v.at.getTime() >= (claim.endedAt as Date).getTime()) verified.set(claim.key, v);
  }

  const claimData = (c: Claim) => ({
    key: c.key,
    agent: c.agent,
    token: c.token,
    state: c.state,
    claimedAt: isoString(c.claimedAt),
    expiresAt: isoString(c.expiresAt),
  });
  const sections: { id: ContextSection["id"]; title: string; items: ContextItem[] }[] = [
    {
      id: "rules",
      title: "Operating rules",
      items: [
        input.rules === null || !input.rules.exists
          ? { text: "no rules file: run `baton rules init`", data: { exists: false } }
          : {
              text: `${input.rules.name ?? "rules"} (version ${input.rules.version}): ${input.rules.path}${input.rules.emptySlots.length > 0 ? ` — ${input.rules.emptySlots.length} empty slot(s)` : ""}; read them before acting (baton rules show)`,
              data: {
                exists: true,
                name: input.rules.name,
                version: input.rules.version,
                path: input.rules.path,
                emptySlots: input.rules.emptySlots.length,
              },
            },
      ],
    },
    {
      id: "mine",
      title: agent === null ? "My live claims (no agent given)" : `My live claims (${agent})`,
      items: mine.map((c) => ({
        text: `${c.key} — token ${c.token}, expires ${rel(c.expiresAt.getTime() - t)}`,
        data: claimData(c),
      })),
    },
    {
      id: "loose_ends",
      title: "Loose ends (abandoned or expired: finish or close them first)",
      items: loose.map((c) => {
        const note = notes.get(c.key);
        const when = c.endedAt ?? c.expiresAt;
        const last = note ? `; last note: ${String(note.detail?.text)}` : c.reason ? `; ${c.reason}` : "";
        return {
          text: `${c.key} — ${c.state} ${rel(when.getTime() - t)}, last held by ${c.agent}${last}`,
          data: { ...claimData(c), reason: c.reason, note: note?.detail?.text ?? null },
        };
      }),
    },
    {
      id: "others",
      title: "Other agents' live claims",
      items: others.map((c) => ({
        text: `${c.key} — ${c.agent} since ${iso(c.claimedAt)}, expires ${rel(c.expiresAt.getTime() - t)}`,
        data: claimData(c),
      })),
    },
    {
      id: "completed",
      title: "Recently completed (24 h): verify, don't redo",
      items: completed.map((c) => {
        const v = verified.get(c.key);
        return {
          text: `${c.key} — done by ${c.agent} ${rel((c.endedAt as Date).getTime() - t)}${c.result ? `: ${c.result}` : ""}${c.commit ? ` (commit ${c.commit.slice(0, 10)})` : ""} — ${v ? `verified by ${v.agent}` : "unverified"}`,
          data: {
            ...claimData(c),
            endedAt: c.endedAt == null ? undefined : isoString(c.endedAt),
            result: c.result,
            commit: c.commit,
            verifiedBy: v?.agent ?? null,
          },
        };
      }),
    },
    {
      id: "gates",
      title: "Gates fired (24 h)",
      items: input.gates.map((m) => ({
        text: `${m.key} — by ${m.agent} ${rel(m.at.getTime() - t)}${m.note ? `: ${m.note}` : ""}`,
        data: { key: m.key, agent: m.agent, at: isoString(m.at), note: m.note },
      })),
    },
    {
      id: "contention",
      title: "Contention and supply",
      items: [
        {
          text: `fleet: ${denied.length} denial${denied.length === 1 ? "" : "s"} in ${recent.length} claim decisions (${recent.length === 0 ? 0 : Math.round((100 * denied.length) / recent.length)}% denied)${agent === null ? "" : `; ${agent}: ${myDenials.length} denial${myDenials.length === 1 ? "" : "s"}${myDenials.length >= 2 ? " — stop shopping for lanes: take a loose end or explore something new" : ""}`}`,
          data: {
            decisions: recent.length,
            denials: denied.length,
            denialRate: recent.length === 0 ? 0 : denied.length / recent.length,
            myDenials: myDenials.length,
            myDeniedKeys: myDenials.map((e) => e.key),
          },
        },
        ...(input.supply === undefined
          ? []
          : [
              {
                text: backlogLine(input.supply),
                data: { ...input.supply },
              },
            ]),
      ],
    },
  ];

  return fitBudget(`# Baton context${agent === null ? "" : ` for ${agent}`} — ${iso(now)}\n`, sections, budget, {
    agent,
    generatedAt: now,
  });
}

type Draft = { id: ContextSection["id"]; title: string; items: ContextItem[] };

/** Sections that are never cut: what I hold, and whether to stop shopping / the backlog is drained. */
const PROTECTED: ReadonlySet<ContextSection["id"]> = new Set(["mine", "contention"]);
/** The order the rest get the budget in: the first is cut last. */
const IMPORTANCE: readonly ContextSection["id"][] = ["rules", "loose_ends", "others", "gates", "completed"];
const SHORT: Record<ContextSection["id"], string> = {
  rules: "rules",
  mine: "my claims",
  loose_ends: "loose ends",
  others: "others' claims",
  completed: "completions",
  gates: "gates",
  contention: "contention",
};

/** Lines of one section showing its first `n` items. */
function sectionLines(s: Draft, n: number): string[] {
  const lines = [`## ${s.title}`];
  if (s.items.length === 0) lines.push("- none");
  for (const item of s.items.slice(0, n)) lines.push(`- ${item.text}`);
  if (n < s.items.length) lines.push(`- … and ${s.items.length - n} more`);
  lines.push("");
  return lines;
}

const cost = (lines: readonly string[]): number => lines.reduce((n, l) => n + l.length + 1, 0);

/**
 * How many of a section's items fit in `room` characters with its heading, the blank
 * line after it and the "… and N more" line (null: not even the heading and one item, or
 * an empty section's "none"), and what that costs. Items are added in order until the
 * first that does not fit, so a section of 100,000 items costs what the budget allows.
 */
function fitSection(s: Draft, room: number): { n: number; cost: number } | null {
  const base = s.title.length + 4 + 1; // "## title\n" and the blank line
  if (s.items.length === 0) return base + 7 <= room ? { n: 0, cost: base + 7 } : null; // "- none\n"
  const more = (left: number): number => (left === 0 ? 0 : `- … and ${left} more`.length + 1);
  let used = base;
  let n = 0;
  while (n < s.items.length) {
    const item = (s.items[n] as ContextItem).text.length + 3; // "- text\n"
    if (used + item + more(s.items.length - n - 1) > room) break;
    used += item;
    n += 1;
  }
  return n === 0 ? null : { n, cost: used + more(s.items.length - n) };
}

/**
 * Render within `budget` characters: protected sections in full; then, by importance, each
 * other section with as many of its items as fit (its heading and an "… and N more" line
 * included), or not at all, named in a closing line.
 */
function fitBudget(
  header: string,
  sections: readonly Draft[],
  budget: number,
  meta: { agent: string | null; generatedAt: Date },
): ContextResult {
  let reserve = 0;
  let shownCount = new Map<ContextSection["id"], number | null>();
  let closing = "";
  // The closing line's length depends on what is omitted; a few rounds settle it.
  for (let round = 0; round < 4; round++) {
    shownCount = new Map();
    let used = header.length + 1 + reserve;
    for (const s of sections) {
      if (!PROTECTED.has(s.id)) continue;
      shownCount.set(s.id, s.items.length);
      used += cost(sectionLines(s, s.items.length));
    }
    let cut = false;
    for (const id of IMPORTANCE) {
      const s = sections.find((x) => x.id === id);
      if (s === undefined) continue;
      // Once a section had no room at all, every less important one is left out too.
      const fit = cut ? null : fitSection(s, budget - used);
      if (fit === null) {
        shownCount.set(id, null);
        cut = true;
        continue;
      }
      shownCount.set(id, fit.n);
      used += fit.cost;
    }
    const omitted = sections.filter((s) => shownCount.get(s.id) === null);
    const named = omitted.filter((s) => s.items.length > 0);
    closing =
      named.length === 0
        ? ""
        : `_Left out (budget): ${named.map((s) => `${SHORT[s.id]} ${s.items.length}`).join(", ")}._`;
    if (closing.length + 1 <= reserve || closing === "") break;
    reserve = closing.length + 1;
  }
  const lines: string[] = [header];
  const shown: ContextSection[] = [];
  for (const s of sections) {
    const n = shownCount.get(s.id) ?? null;
    shown.push({
      id: s.id,
      title: s.title,
      items: n === null ? [] : s.items.slice(0, n),
      total: s.items.length,
      omitted: n === null,
    });
    if (n !== null) lines.push(...sectionLines(s, n));
  }
  if (closing !== "") lines.push(closing);
  return {
    agent: meta.agent,
    generatedAt: meta.generatedAt,
    budget,
    sections: shown,
    markdown: `${lines.join("\n").trimEnd()}\n`,
  };
}

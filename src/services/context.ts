/**
 * `baton context`: one block for a session's prompt, so it starts informed. Sections
 * in a fixed order, most important first; within a character budget, each section
 * shows what fits and summarises the rest with a count. The JSON form carries the
 * same items.
 */
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import { parseAgent } from "../core/identity.js";
import type { BatonEvent, Claim } from "../core/types.js";
import type { Store } from "../store/store.js";
import type { GateMark } from "./gates.js";
import type { RulesInfo } from "./rules.js";

/** Default budget, in characters. */
export const DEFAULT_CONTEXT_BUDGET = 4000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const iso = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");

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
  /** The backlog's supply (from the task service), shown with contention. */
  supply?: { ready: number; claimed: number; blocked: number; done: number; verdict: string; rule: string };
}

function rel(ms: number): string {
  return ms >= 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`;
}

/** Gather the fleet's state and render it within the budget. */
export async function buildContext(store: Store, input: ContextInput): Promise<ContextResult> {
  const agent = input.as === undefined ? null : parseAgent(input.as);
  const budget = input.budget ?? DEFAULT_CONTEXT_BUDGET;
  if (!Number.isInteger(budget) || budget < 200 || budget > 1_000_000) {
    throw new BatonError("BAD_OPTION", `invalid budget ${JSON.stringify(input.budget)}: use an integer from 200 to 1000000 characters`);
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
  const recent = await store.events({ sinceMs: HOUR, kinds: ["granted", "denied"], limit: 100_000 });
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
    claimedAt: c.claimedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
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
              data: { exists: true, name: input.rules.name, version: input.rules.version, path: input.rules.path, emptySlots: input.rules.emptySlots.length },
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
          data: { ...claimData(c), endedAt: c.endedAt?.toISOString(), result: c.result, commit: c.commit, verifiedBy: v?.agent ?? null },
        };
      }),
    },
    {
      id: "gates",
      title: "Gates fired (24 h)",
      items: input.gates.map((m) => ({
        text: `${m.key} — by ${m.agent} ${rel(m.at.getTime() - t)}${m.note ? `: ${m.note}` : ""}`,
        data: { key: m.key, agent: m.agent, at: m.at.toISOString(), note: m.note },
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
                text: `backlog: ${input.supply.verdict} — ready ${input.supply.ready}, claimed ${input.supply.claimed}, blocked ${input.supply.blocked}, done ${input.supply.done} (${input.supply.rule})`,
                data: { ...input.supply },
              },
            ]),
      ],
    },
  ];

  // Fit the budget: every heading is shown; items fill in order until the budget runs out.
  const header = `# Baton context${agent === null ? "" : ` for ${agent}`} — ${iso(now)}\n`;
  let used = header.length;
  for (const s of sections) used += s.title.length + 30; // heading, blank line, and a "none" or "… and N more" line
  const shown: ContextSection[] = [];
  const lines: string[] = [header];
  for (const s of sections) {
    const items: ContextItem[] = [];
    for (const item of s.items) {
      const cost = item.text.length + 3;
      if (used + cost > budget) break;
      used += cost;
      items.push(item);
    }
    shown.push({ id: s.id, title: s.title, items, total: s.items.length });
    lines.push(`## ${s.title}`);
    if (s.items.length === 0) lines.push("- none");
    for (const item of items) lines.push(`- ${item.text}`);
    if (items.length < s.items.length) lines.push(`- … and ${s.items.length - items.length} more`);
    lines.push("");
  }
  return { agent, generatedAt: now, budget, sections: shown, markdown: lines.join("\n").trimEnd() + "\n" };
}

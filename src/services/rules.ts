/**
 * Operating rules: a short constitution every session reads before acting. This module
 * is the pure half: what Baton reads out of a rules text (its name, version and empty
 * slots). Reading and writing the file (`.baton/RULES.md` at the
 * repository root) is the workspace's (src/workspace/rules.ts).
 */
import { createHash } from "node:crypto";

/** The text that marks a slot the fleet has not filled yet. */
export const EMPTY_SLOT = "_(empty slot: write a rule your fleet keeps, or delete this line)_";

export interface RulesInfo {
  readonly path: string;
  readonly exists: boolean;
  /** The first heading, e.g. "Operating rules". */
  readonly name: string | null;
  /** First 12 hex digits of the SHA-256 of the text: changes whenever the rules do. */
  readonly version: string | null;
  readonly text: string | null;
  /** 1-based line numbers of slots still empty. */
  readonly emptySlots: number[];
}

/**
 * Whether rules are there (`show`), or there and every slot filled (`check`): the code of
 * the refusal when not, for each surface to word.
 */
export function rulesVerdict(
  info: RulesInfo,
  want: "present" | "complete",
): { readonly ok: true } | { readonly ok: false; readonly code: "RULES_MISSING" | "RULES_INCOMPLETE" } {
  if (!info.exists) return { ok: false, code: "RULES_MISSING" };
  if (want === "complete" && info.emptySlots.length > 0) return { ok: false, code: "RULES_INCOMPLETE" };
  return { ok: true };
}

/** What the rules text at `path` says (`text` null: there is no file). */
export function rulesInfo(path: string, text: string | null): RulesInfo {
  if (text === null) return { path, exists: false, name: null, version: null, text: null, emptySlots: [] };
  const name = /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? null;
  const emptySlots = text.split("\n").flatMap((line, i) => (line.includes(EMPTY_SLOT) ? [i + 1] : []));
  return {
    path,
    exists: true,
    name,
    version: createHash("sha256").update(text).digest("hex").slice(0, 12),
    text,
    emptySlots,
  };
}

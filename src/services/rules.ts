/**
 * Operating rules: a short constitution every session reads before acting. This module
 * is the pure half: the starter text, and what Baton reads out of a rules text (its name,
 * version and empty slots). Reading and writing the file (`.baton/RULES.md` at the
 * repository root) is the workspace's (src/workspace/rules.ts).
 */
import { createHash } from "node:crypto";

/** The text that marks a slot the fleet has not filled yet. */
export const EMPTY_SLOT = "_(empty slot: write a rule your fleet keeps, or delete this line)_";

/** The starter rules, in Baton's own words. */
export const STARTER_RULES = `# Operating rules

Every session reads these before it acts. \`baton context\` prints their name and version;
\`baton rules show\` prints them in full.

1. **Load the state before you act.** Start with \`baton context\`: who holds what, the loose
   ends, what was finished in the last day. Acting on a guess about the fleet is how work is
   done twice.
2. **Claim before you change anything shared.** A work key for the work, path claims for the
   files, before the first edit. Denied means someone is on it: pick other work.
3. **Done means verified through the real surface.** Run it the way its user would: the
   command, the page, the API call. A passing unit test of a part is not a working whole.
4. **Say what was done and what was not.** Every completion carries a result; every gap, a
   note (\`baton note KEY TEXT\`). Silence reads as "all done".
5. **Nothing half-made ships.** No stub, no to-do note standing in for behaviour, no test that
   cannot fail. If it is not finished, it is released or abandoned with a reason, not completed.
6. **Sync before you deploy.** \`baton sync-check --holding KEY:TOKEN\` before any deploy or
   publish; a copy that is behind rolls other agents' work back.
7. **Resume before you start.** Loose ends (abandoned and expired claims) are someone's
   interrupted work: finish or close them before opening new lanes. When a claim is refused
   as done, verify it (\`baton verify KEY\`) instead of redoing it.

## The fleet's own rules

8. ${EMPTY_SLOT}
9. ${EMPTY_SLOT}
10. ${EMPTY_SLOT}

## Changing these rules

Change them in a commit of their own, with the reason in the message, so every session sees
the new version in \`baton context\`. Keep them few and short: a rule nobody remembers is not
kept. Remove a rule that no longer earns its place rather than adding an exception.
`;

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

/** What the rules text at `path` says (`text` null: there is no file). */
export function rulesInfo(path: string, text: string | null): RulesInfo {
  if (text === null) return { path, exists: false, name: null, version: null, text: null, emptySlots: [] };
  const name = /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? null;
  const emptySlots = text
    .split("\n")
    .flatMap((line, i) => (line.includes(EMPTY_SLOT) ? [i + 1] : []));
  return { path, exists: true, name, version: createHash("sha256").update(text).digest("hex").slice(0, 12), text, emptySlots };
}

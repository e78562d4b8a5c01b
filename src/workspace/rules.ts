/**
 * The operating rules file (the text and what is read out of it: services/rules.ts), kept in
 * `.baton/RULES.md` at the repository root. `init` writes a starter, `show` prints it
 * with its version (a hash of the text), `check` fails while it is missing or still
 * has empty slots.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BatonError } from "../core/errors.js";
import { EMPTY_SLOT, type RulesInfo, rulesInfo } from "../services/rules.js";
import { repoRoot } from "./git.js";

export { EMPTY_SLOT, type RulesInfo };

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

/** Where the rules live: `file` if given (relative to cwd), else `.baton/RULES.md` at the repository root (or cwd). */
export async function rulesPath(options: { cwd?: string; file?: string } = {}): Promise<string> {
  const cwd = resolve(options.cwd ?? process.cwd());
  if (options.file !== undefined) return resolve(cwd, options.file);
  const root = await repoRoot(cwd).catch(() => cwd);
  return join(root, ".baton", "RULES.md");
}

/** Read the rules (a missing file is `exists: false`, not an error). */
export function readRules(path: string): RulesInfo {
  if (!existsSync(path)) return rulesInfo(path, null);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new BatonError("BAD_INPUT", `cannot read the rules at ${path}: ${(error as Error).message}`);
  }
  return rulesInfo(path, text);
}

/** Write the starter rules; refuses to overwrite unless `force`. */
export function initRules(path: string, force: boolean): RulesInfo {
  if (existsSync(path) && !force) {
    throw new BatonError("BAD_INPUT", `${path} exists: edit it, or pass --force to replace it with the starter rules`);
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, STARTER_RULES);
  } catch (error) {
    throw new BatonError("BAD_INPUT", `cannot write the rules at ${path}: ${(error as Error).message}`);
  }
  return readRules(path);
}

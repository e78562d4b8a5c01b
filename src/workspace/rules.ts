/**
 * The operating rules file (the text and what is read out of it: services/rules.ts), kept in
 * `.baton/RULES.md` at the repository root. `init` writes a starter, `show` prints it
 * with its version (a hash of the text), `check` fails while it is missing or still
 * has empty slots.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BatonError } from "../core/errors.js";
import { EMPTY_SLOT, type RulesInfo, rulesInfo, STARTER_RULES } from "../services/rules.js";
import { repoRoot } from "./git.js";

export { EMPTY_SLOT, type RulesInfo, STARTER_RULES };

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

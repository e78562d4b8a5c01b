/**
 * `baton init [--claude] [--codex] [--gemini] [--uninstall]`: set a repository up for
 * a fleet in one idempotent command that never clobbers what is there: the starter
 * rules, `.baton/config.json` (missing keys added, existing ones kept), Baton's git
 * hooks (chained to the hooks already there), ignore entries for local state, and the
 * harnesses' hook configuration (Baton's entries merged in; everything else kept).
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { BatonError } from "../../core/errors.js";
import { repoRoot } from "../../workspace/git.js";
import { installHooks, uninstallHooks } from "../../workspace/git-hooks.js";
import {
  HARNESS_CONFIG_FILES,
  HARNESSES,
  type Harness,
  harnessEntries,
  mergeHooks,
  removeHooks,
} from "../../services/harness.js";
import { initRules, rulesPath } from "../../workspace/rules.js";
import { resolveConfig } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emit, emitError, type OutputMode } from "./output.js";

/** Settings `init` adds to `.baton/config.json` when they are missing. */
export const STARTER_CONFIG = {
  claimOnEdit: "all",
  protectedPaths: [".baton/RULES.md", ".baton/config.json"],
  hookFailure: "open",
} as const;

/** Lines `init` adds to `.gitignore` (once): local registry files, never committed. */
export const IGNORE_LINES = ["# Baton: local state, never committed", ".baton/*.db", ".baton/*.db-*"] as const;

interface Step {
  readonly what: string;
  readonly path: string;
  readonly action: string;
}

const shellWord = (s: string): string => (/^[A-Za-z0-9_./:@=-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** This node and this CLI bundle, by absolute path: never resolved through a package registry. */
function self(): string[] {
  const script = process.argv[1];
  if (script === undefined) throw new BatonError("INTERNAL", "cannot tell where the baton CLI is");
  return [process.execPath, realpathSync(script)];
}

/** How harness hooks run Baton: `--hook-command`, else this node and bundle by absolute path. */
export function hookBase(given: string | undefined): string {
  if (given === undefined) return self().map(shellWord).join(" ");
  const text = given.trim();
  if (text === "") throw new BatonError("BAD_OPTION", "--hook-command is empty");
  if (/^(npx|pnpx|bunx)\s/.test(text) && !/\s--no-install\b|\s--offline\b/.test(text)) {
    throw new BatonError(
      "BAD_OPTION",
      `--hook-command ${JSON.stringify(text)} would fetch "baton" from the npm registry on every tool call: use "npx --no-install baton", an absolute path, or "baton" on PATH`,
    );
  }
  return text;
}

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  let value: unknown;
  try {
    const text = readFileSync(file, "utf8");
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    throw new BatonError(
      "BAD_CONFIG",
      `cannot read ${file}: ${(error as Error).message}; fix it by hand, baton init changes nothing until then`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BatonError(
      "BAD_CONFIG",
      `${file} is not a JSON object; fix it by hand, baton init changes nothing until then`,
    );
  }
  return value as Record<string, unknown>;
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function selected(flags: InitFlags): Harness[] {
  return HARNESSES.filter((h) => flags[h] === true);
}

export interface InitFlags extends CommonFlags {
  claude?: boolean;
  codex?: boolean;
  gemini?: boolean;
  uninstall?: boolean;
  hookCommand?: string;
}

/** `baton init`. */
export async function init(flags: InitFlags): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const root = await repoRoot(process.cwd());
    // Validate everything before the first write: a bad config file or flag changes nothing.
    const config = await resolveConfig({}, process.env, root);
    const harnesses = selected(flags);
    const steps: Step[] = [];
    const rel = (path: string): string => relative(root, path) || ".";
    const harnessFiles = (list: readonly Harness[]) =>
      list.map((h) => ({ harness: h, file: join(root, HARNESS_CONFIG_FILES[h]) }));

    if (flags.uninstall === true) {
      const list = harnesses.length === 0 ? [...HARNESSES] : harnesses;
      const files = harnessFiles(list).map((f) => ({ ...f, settings: readJson(f.file) }));
      for (const { harness, file, settings } of files) {
        if (!existsSync(file)) continue;
        const { settings: next, removed } = removeHooks(settings, rel(file));
        if (removed.length > 0) writeJson(file, next);
        steps.push({
          what: `${harness} hooks`,
          path: rel(file),
          action: removed.length > 0 ? `removed Baton's ${removed.join(", ")}` : "no Baton entries",
        });
      }
      if (harnesses.length === 0) {
        const hooks = await uninstallHooks(root);
        for (const c of hooks.changes)
          if (c.action !== "absent") steps.push({ what: `git ${c.hook} hook`, path: rel(c.path), action: c.action });
      }
      const kept = "rules, .baton/config.json and .gitignore entries are kept (they are yours now)";
      emit(
        mode,
        { ok: true, root, steps },
        `baton init --uninstall in ${root}:\n${steps.map((s) => `  ${s.what}: ${s.action} (${s.path})`).join("\n") || "  nothing of Baton's found"}\n${harnesses.length === 0 ? kept : "git hooks kept (run baton init --uninstall without harness flags to remove them)"}`,
      );
      return;
    }

    const base = hookBase(flags.hookCommand);
    const configFile = join(root, ".baton", "config.json");
    const existingConfig = readJson(configFile);
    const harnessSettings = harnessFiles(harnesses).map((f) => ({ ...f, settings: readJson(f.file) }));
    const merges = harnessSettings.map((f) => ({
      ...f,
      merge: mergeHooks(f.settings, harnessEntries(f.harness, base), rel(f.file)),
    }));

    // 1. Operating rules.
    const rules = await rulesPath({ cwd: root, ...(config.rulesFile === undefined ? {} : { file: config.rulesFile }) });
    if (existsSync(rules)) steps.push({ what: "operating rules", path: rel(rules), action: "kept" });
    else {
      initRules(rules, false);
      steps.push({ what: "operating rules", path: rel(rules), action: "created (fill the empty slots)" });
    }

    // 2. Config: add the missing settings, keep every existing one.
    const missing = Object.entries(STARTER_CONFIG).filter(([k]) => !(k in existingConfig));
    if (missing.length > 0) {
      const verb = existsSync(configFile) ? "added" : "created with";
      writeJson(configFile, { ...existingConfig, ...Object.fromEntries(missing) });
      steps.push({ what: "config", path: rel(configFile), action: `${verb} ${missing.map(([k]) => k).join(", ")}` });
    } else steps.push({ what: "config", path: rel(configFile), action: "kept" });

    // 3. Git hooks (chained to the hooks already there).
    const hooks = await installHooks(root, { command: self() });
    for (const c of hooks.changes) {
      steps.push({
        what: `git ${c.hook} hook`,
        path: rel(c.path),
        action:
          c.action === "chained" ? `installed; your hook moved to ${c.hook}.baton-chained and run first` : c.action,
      });
    }

    // 4. Ignore entries for local state, added once.
    const ignore = join(root, ".gitignore");
    const current = existsSync(ignore) ? readFileSync(ignore, "utf8") : "";
    const have = new Set(current.split(/\r?\n/).map((l) => l.trim()));
    const add = IGNORE_LINES.filter((l) => !have.has(l));
    if (add.length > 0 && add.some((l) => !l.startsWith("#"))) {
      writeFileSync(ignore, `${current}${current === "" || current.endsWith("\n") ? "" : "\n"}${add.join("\n")}\n`);
      steps.push({
        what: "ignore entries",
        path: ".gitignore",
        action: `added ${add.filter((l) => !l.startsWith("#")).join(" ")}`,
      });
    } else steps.push({ what: "ignore entries", path: ".gitignore", action: "kept" });

    // 5. Harness hook configuration.
    for (const { harness, file, merge } of merges) {
      if (merge.added.length + merge.updated.length > 0) writeJson(file, merge.settings);
      const parts = [
        merge.added.length > 0 ? `added ${merge.added.join(", ")}` : "",
        merge.updated.length > 0 ? `updated ${merge.updated.join(", ")}` : "",
        merge.kept.length > 0 ? `kept ${merge.kept.join(", ")}` : "",
      ].filter((p) => p !== "");
      steps.push({ what: `${harness} hooks`, path: rel(file), action: parts.join("; ") });
    }

    const next = [
      `fill the empty slots in ${rel(rules)} (baton rules check says which)`,
      "commit .baton/ and .gitignore so every clone shares the rules and settings (the rules and config are protected paths: an agent claims them first, baton paths claim .baton/)",
      ...(harnesses.length === 0
        ? ["wire an agent harness: baton init --claude (or --codex, --gemini)"]
        : [
            `start a new ${harnesses.join("/")} session here: it is told the rules and the fleet's state, its edits claim their files, and a file another session holds is refused`,
            flags.hookCommand === undefined
              ? `the hook commands name this machine's Baton by absolute path (${base}); before committing ${harnesses.map((h) => HARNESS_CONFIG_FILES[h]).join(", ")}, re-run with --hook-command "npx --no-install baton" if other machines install Baton elsewhere`
              : "",
          ]),
      "outside a harness, name the agent: export BATON_AGENT=… (the pre-commit guard checks claims as that agent)",
    ].filter((l) => l !== "");
    emit(
      mode,
      { ok: true, root, steps, next },
      `baton init in ${root}:\n${steps.map((s) => `  ${s.what}: ${s.action} (${s.path})`).join("\n")}\nNext:\n${next.map((l) => `  - ${l}`).join("\n")}`,
    );
  } catch (error) {
    emitError(mode, error);
  }
}

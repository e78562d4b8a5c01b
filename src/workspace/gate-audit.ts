/**
 * `baton audit-gates`: find side-effect calls in scripts and code that do not run
 * through `baton gate`. A gate nobody calls protects nothing.
 *
 * What is read: shell scripts (`.sh`, `.bash`, `.zsh`, or a `#!` line naming a shell),
 * JavaScript and TypeScript, Python, Makefiles and YAML (CI workflows). Skipped:
 * `node_modules`, `.git`, `dist`, `build`, `coverage`, `vendor`, and files over 1 MiB.
 * A call counts as gated when its logical line (shell lines joined at a trailing `\`)
 * goes through `baton gate run|mark`, calls `.gate(` in code, or — for a line reviewed by
 * hand — carries the comment `baton-gate: ok`: a trailing comment (`git push # baton-gate: ok`)
 * covers its own line only; a comment alone on a line (`# baton-gate: ok`, `// baton-gate: ok`)
 * covers the line below it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, resolve } from "node:path";
import { BatonError } from "../core/errors.js";
import { DEFAULT_SIDE_EFFECTS, isGated, type SideEffectPattern, sideEffectsIn } from "../core/side-effects.js";

const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "build", "coverage", "vendor", ".venv", "__pycache__"]);
const CODE_EXT = new Set([
  ".sh",
  ".bash",
  ".zsh",
  ".js",
  ".mjs",
  ".cjs",
  ".ts",
  ".mts",
  ".cts",
  ".jsx",
  ".tsx",
  ".py",
  ".yml",
  ".yaml",
  ".mk",
]);
const MAX_FILE = 1024 * 1024;
/** A line that is nothing but a `baton-gate: ok` comment (shell, Python, YAML, Make, JS/TS). */
const REVIEW_LINE = /^\s*(#|\/\/|\/\*)\s*baton-gate:\s*ok\b/;

/** One unwrapped side-effect call. */
export interface AuditFinding {
  readonly file: string;
  readonly line: number;
  readonly pattern: string;
  readonly text: string;
}

function scannable(path: string, name: string): boolean {
  if (CODE_EXT.has(extname(name))) return true;
  if (name === "Makefile" || name === "makefile" || name === "GNUmakefile") return true;
  if (extname(name) !== "") return false;
  try {
    const head = readFileSync(path, { encoding: "utf8", flag: "r" }).slice(0, 100);
    return /^#!.*\b(sh|bash|zsh|dash|ksh|node|python3?)\b/.test(head);
  } catch {
    return false;
  }
}

function* files(root: string): Generator<string> {
  const stat = statSync(root);
  if (stat.isFile()) {
    yield root;
    return;
  }
  for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* files(join(root, entry.name));
    } else if (entry.isFile()) {
      const path = join(root, entry.name);
      if (scannable(path, entry.name)) yield path;
    }
  }
}

/** Scan one file's text. `name` is how findings name the file. */
export function auditText(
  name: string,
  text: string,
  patterns: readonly SideEffectPattern[] = DEFAULT_SIDE_EFFECTS,
): AuditFinding[] {
  const lines = text.split(/\r?\n/);
  const out: AuditFinding[] = [];
  for (let i = 0; i < lines.length; i++) {
    // A logical line: physical lines joined where a line ends with a backslash.
    const start = i;
    let logical = lines[i] ?? "";
    while (logical.endsWith("\\") && i + 1 < lines.length) {
      i++;
      logical = `${logical.slice(0, -1)} ${lines[i] ?? ""}`;
    }
    const found = sideEffectsIn(logical, patterns);
    if (found.length === 0) continue;
    // Only a comment alone on the line above covers this one; a trailing mark there covers its own line.
    const above = start > 0 ? (lines[start - 1] ?? "") : "";
    if (isGated(logical) || REVIEW_LINE.test(above)) continue;
    for (const pattern of found) out.push({ file: name, line: start + 1, pattern, text: (lines[start] ?? "").trim() });
  }
  return out;
}

/** Compile extra `--pattern` regular expressions. */
export function extraPatterns(sources: readonly string[]): SideEffectPattern[] {
  return sources.map((source) => {
    try {
      return { name: source, regex: new RegExp(source) };
    } catch (error) {
      throw new BatonError("BAD_OPTION", `invalid --pattern ${JSON.stringify(source)}: ${(error as Error).message}`);
    }
  });
}

/**
 * Scan `paths` (files or folders) for side-effect calls not wrapped by a gate.
 *
 * @throws BatonError `BAD_INPUT` for a path that does not exist
 */
export function auditGates(
  paths: readonly string[],
  options: { cwd: string; patterns?: readonly SideEffectPattern[] },
): { readonly findings: AuditFinding[]; readonly filesScanned: number } {
  const patterns = [...DEFAULT_SIDE_EFFECTS, ...(options.patterns ?? [])];
  const findings: AuditFinding[] = [];
  let filesScanned = 0;
  for (const input of paths.length === 0 ? ["."] : paths) {
    const root = resolve(options.cwd, input);
    try {
      statSync(root);
    } catch {
      throw new BatonError("BAD_INPUT", `cannot audit ${JSON.stringify(input)}: no such file or folder`);
    }
    for (const file of files(root)) {
      if (statSync(file).size > MAX_FILE) continue;
      filesScanned++;
      findings.push(...auditText(relative(options.cwd, file) || file, readFileSync(file, "utf8"), patterns));
    }
  }
  return { findings, filesScanned };
}

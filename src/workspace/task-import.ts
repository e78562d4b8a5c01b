/**
 * `baton task import`: a folder of markdown task files with front matter, or GitHub
 * issue JSON (`gh issue list --json number,title,labels,state,url`). Idempotent:
 * re-running updates changed tasks and never duplicates. All files are parsed and
 * checked first; a bad file is reported with its name and line and nothing is written.
 *
 * Markdown fields: `id` (default: the file name without `.md`), `title` (default: the
 * first `# heading`), `state` (`open`, `ready`, `blocked` → open; `done`/`closed` → done;
 * blocked is derived from `blocked_by`), `priority` (0–100), `category`, `blocked_by`
 * (list of ids), `paths` (list), `assignee`. Other keys go into the task's metadata.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { BatonError } from "../core/errors.js";
import { FrontMatterError, type FrontValue, parseFrontMatter } from "../core/front-matter.js";
import type { TaskSpec } from "../services/tasks.js";

/**
 * The text of an imported file: UTF-8 without NUL bytes. A binary file or one in another
 * encoding is refused by name rather than imported with U+FFFD in place of its bytes.
 *
 * @throws BatonError `BAD_INPUT`
 */
export function decodeImportText(bytes: Uint8Array, name: string): string {
  const nul = bytes.indexOf(0);
  if (nul !== -1)
    throw new BatonError("BAD_INPUT", `${name}: a binary file (a NUL byte at offset ${nul}), not text`, {
      file: name,
      offset: nul,
    });
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new BatonError("BAD_INPUT", `${name}: not valid UTF-8 text (save it as UTF-8)`, { file: name });
  }
}

const KNOWN = new Set(["id", "title", "state", "priority", "category", "blocked_by", "paths", "assignee"]);

function list(value: FrontValue | undefined, file: string, line: number, key: string): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (typeof value === "string") return [value];
  throw new BatonError("BAD_INPUT", `${file}:${line}: ${key} must be a list of ids`);
}

/** Parse a folder (or one file) of markdown tasks; `onProgress` hears of each file read. */
export function readMarkdownTasks(
  path: string,
  cwd: string,
  onProgress?: (done: number, total: number) => void,
): TaskSpec[] {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => f.endsWith(".md"))
          .sort()
          .map((f) => join(path, f))
      : [path];
  } catch {
    throw new BatonError("BAD_INPUT", `cannot import ${JSON.stringify(path)}: no such file or folder`);
  }
  return files.map((file, index) => {
    onProgress?.(index + 1, files.length);
    const name = relative(cwd, file) || file;
    let parsed: ReturnType<typeof parseFrontMatter>;
    try {
      parsed = parseFrontMatter(decodeImportText(readFileSync(file), name));
    } catch (error) {
      if (error instanceof FrontMatterError)
        throw new BatonError("BAD_INPUT", `${name}:${error.line}: ${error.message}`);
      throw error;
    }
    const f = parsed.fields;
    const line = (key: string) => parsed.lines[key] ?? 1;
    const state = f.state === undefined ? "open" : String(f.state).toLowerCase();
    if (!["open", "ready", "blocked", "done", "closed"].includes(state)) {
      throw new BatonError("BAD_INPUT", `${name}:${line("state")}: state must be open, ready, blocked, done or closed`);
    }
    if (f.priority !== undefined && typeof f.priority !== "number") {
      throw new BatonError("BAD_INPUT", `${name}:${line("priority")}: priority must be an integer from 0 to 100`);
    }
    const heading = /^#\s+(.+)$/m.exec(parsed.body)?.[1]?.trim();
    // fromEntries defines own properties: a `__proto__` key stays a key, not a prototype.
    const meta: Record<string, unknown> = Object.fromEntries(Object.entries(f).filter(([k]) => !KNOWN.has(k)));
    return {
      id: f.id === undefined ? basename(file, ".md") : String(f.id),
      title: f.title === undefined ? (heading ?? basename(file, ".md")) : String(f.title),
      ...(f.category === undefined ? {} : { category: String(f.category) }),
      ...(f.priority === undefined ? {} : { priority: f.priority as number }),
      done: state === "done" || state === "closed",
      blockedBy: list(f.blocked_by, name, line("blocked_by"), "blocked_by"),
      origin: `${name}:${line("blocked_by")}`,
      paths: list(f.paths, name, line("paths"), "paths"),
      assignee: f.assignee === undefined ? null : String(f.assignee),
      meta: Object.keys(meta).length === 0 ? null : meta,
      source: name,
    };
  });
}

/** How GitHub labels map to categories and priorities (config `importLabels`). */
export type LabelMap = Record<string, { category?: string; priority?: number }>;

/** Parse `gh issue list --json number,title,labels,state,url` output. */
export function readGithubTasks(text: string, name: string, labels: LabelMap = {}): TaskSpec[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new BatonError("BAD_INPUT", `${name}: not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(data))
    throw new BatonError("BAD_INPUT", `${name}: expected the array gh issue list --json prints`);
  return data.map((raw, i) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new BatonError(
        "BAD_INPUT",
        `${name}: item ${i + 1} is not an object (use gh issue list --json number,title,labels,state,url)`,
      );
    }
    const issue = raw as { number?: unknown; title?: unknown; labels?: unknown; state?: unknown; url?: unknown };
    if (issue.number === undefined || typeof issue.title !== "string") {
      throw new BatonError(
        "BAD_INPUT",
        `${name}: item ${i + 1} has no number or title (use --json number,title,labels,state,url)`,
      );
    }
    if (typeof issue.number !== "number" || !Number.isSafeInteger(issue.number) || issue.number < 1) {
      throw new BatonError(
        "BAD_INPUT",
        `${name}: item ${i + 1}: issue number ${JSON.stringify(issue.number)} is not a positive integer`,
        { item: i + 1 },
      );
    }
    const names = Array.isArray(issue.labels)
      ? issue.labels.map((l) =>
          typeof l === "string"
            ? l
            : typeof l === "object" && l !== null
              ? String((l as { name?: unknown }).name ?? "")
              : "",
        )
      : [];
    let category: string | undefined;
    let priority: number | undefined;
    for (const label of names) {
      const m = Object.hasOwn(labels, label) ? labels[label] : undefined;
      if (m?.category !== undefined && category === undefined) category = m.category;
      if (m?.priority !== undefined) priority = Math.max(priority ?? 0, m.priority);
    }
    return {
      id: `gh-${issue.number}`,
      title: issue.title,
      category: category ?? "github",
      ...(priority === undefined ? {} : { priority }),
      done: String(issue.state ?? "").toUpperCase() === "CLOSED",
      meta: { number: issue.number, labels: names, ...(typeof issue.url === "string" ? { url: issue.url } : {}) },
      source: typeof issue.url === "string" ? issue.url : name,
    };
  });
}

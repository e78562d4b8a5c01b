/**
 * The README's shell examples as a test: parse its fenced blocks into commands and the
 * output they show, and normalise what varies between runs (times, tokens, durations,
 * commit hashes, scratch paths) so a printed answer can be compared with the README's.
 *
 * A block is run when its info string is `sh` or empty and it is not preceded by a
 * `<!-- readme-test: skip REASON -->` comment. Two notations are read:
 *
 * - `sh` blocks: each line is a command (a trailing `\` continues it); the `# ` lines right
 *   after a command are its output. A comment on the command line is no output; one that
 *   says `# exit N` (or ends in `exit N`) states the exit code.
 * - prompt blocks: lines starting with `$ ` are commands, the lines after them their output.
 *
 * A command whose block shows no output is only held to its exit code (0 unless stated).
 * In shown output `…` matches any text on its line, and a line that is only `…` matches
 * any number of lines.
 */

/** One command of a README block and what the README says it prints. */
export interface ReadmeCommand {
  /** The shell text, continuation lines joined. */
  readonly command: string;
  /** The output the README shows (without the `# `), or null when it shows none. */
  readonly expected: readonly string[] | null;
  /** The exit code the README states, or null (meaning 0). */
  readonly exit: number | null;
  /** The README line the command starts on (1-based). */
  readonly line: number;
}

export interface ReadmeBlock {
  /** The heading the block sits under. */
  readonly heading: string;
  /** The README line of the opening fence (1-based). */
  readonly line: number;
  /** Hidden commands from `<!-- readme-test: setup CMD -->` comments, run first, unchecked. */
  readonly setup: readonly string[];
  readonly commands: readonly ReadmeCommand[];
  /** Why the block is not run, or null. */
  readonly skip: string | null;
}

const EXIT_NOTE = /(?:^|\s)(?:#\s*)?exit (\d+)(?::.*)?$/;

/** Split a command line into the command and its trailing comment (outside quotes). */
function splitComment(line: string): { code: string; comment: string | null } {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quote) {
      if (c === "\\" && quote === '"') i += 1;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1] ?? ""))) {
      return { code: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim() };
    }
  }
  return { code: line.trimEnd(), comment: null };
}

function exitOf(comment: string | null): number | null {
  if (comment === null) return null;
  const m = EXIT_NOTE.exec(comment);
  return m ? Number(m[1]) : null;
}

/** Split an output line that ends in an `exit N` note (aligned after two spaces). */
function outputLine(text: string): { text: string; exit: number | null } {
  const m = /^(.*?)\s{2,}exit (\d+)$/.exec(text);
  return m ? { text: m[1] ?? "", exit: Number(m[2]) } : { text, exit: null };
}

function parseShBlock(lines: readonly string[], firstLine: number): ReadmeCommand[] {
  const commands: { command: string; expected: string[] | null; exit: number | null; line: number }[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i] ?? "";
    if (raw.trim() === "") continue;
    const current = commands.at(-1);
    if (/^#( |$)/.test(raw)) {
      // Output of the command above (a comment before any command is prose).
      if (!current) continue;
      const out = outputLine(raw.replace(/^# ?/, ""));
      current.expected = [...(current.expected ?? []), out.text];
      if (out.exit !== null) current.exit = out.exit;
      continue;
    }
    const line = firstLine + i;
    let text = raw;
    while (text.endsWith("\\") && i + 1 < lines.length) {
      i += 1;
      text = `${text.slice(0, -1)} ${(lines[i] ?? "").trim()}`;
    }
    const { code, comment } = splitComment(text);
    commands.push({ command: code, expected: null, exit: exitOf(comment), line });
  }
  return commands;
}

function parsePromptBlock(lines: readonly string[], firstLine: number): ReadmeCommand[] {
  const commands: { command: string; expected: string[]; exit: number | null; line: number }[] = [];
  lines.forEach((raw, i) => {
    if (raw.startsWith("$ ")) {
      const { code, comment } = splitComment(raw.slice(2));
      commands.push({ command: code, expected: [], exit: exitOf(comment), line: firstLine + i });
    } else {
      const current = commands.at(-1);
      if (current) {
        const out = outputLine(raw);
        current.expected.push(out.text);
        if (out.exit !== null) current.exit = out.exit;
      }
    }
  });
  return commands.map((c) => {
    while (c.expected.length > 0 && (c.expected.at(-1) ?? "").trim() === "") c.expected.pop();
    return c;
  });
}

/** The README's runnable blocks, in order. */
export function parseReadme(markdown: string): ReadmeBlock[] {
  const lines = markdown.split("\n");
  const blocks: ReadmeBlock[] = [];
  let heading = "";
  let pendingSetup: string[] = [];
  let pendingSkip: string | null = null;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? "";
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, "");
    const note = /^<!-- readme-test: (skip|setup) ?(.*?) ?-->$/.exec(line.trim());
    if (note) {
      if (note[1] === "skip") pendingSkip = note[2] || "no reason given";
      else pendingSetup.push(note[2] ?? "");
      continue;
    }
    const fence = /^```(\S*)\s*$/.exec(line);
    if (!fence) continue;
    const info = fence[1] ?? "";
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? "")) end += 1;
    const body = lines.slice(start, end);
    i = end;
    if (info !== "sh" && info !== "") {
      pendingSetup = [];
      pendingSkip = null;
      continue;
    }
    const prompt = body.some((l) => l.startsWith("$ "));
    if (info === "" && !prompt) {
      // A plain block without prompts is printed output or a file, not commands.
      pendingSetup = [];
      pendingSkip = null;
      continue;
    }
    blocks.push({
      heading,
      line: start,
      setup: pendingSetup,
      commands: prompt ? parsePromptBlock(body, start + 1) : parseShBlock(body, start + 1),
      skip: pendingSkip,
    });
    pendingSetup = [];
    pendingSkip = null;
  }
  return blocks;
}

/** Replace what differs between runs with placeholders. `paths` maps real prefixes to shown ones. */
export function normalise(text: string, paths: readonly (readonly [string, string])[] = []): string {
  let out = text;
  for (const [real, shown] of paths) out = out.split(real).join(shown);
  return out
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, "<time>")
    .replace(/\b(token|tokens) \d+/g, "$1 <n>")
    .replace(/\b(in|ago|for|after|within) (?:-?\d+(?:\.\d+)?(?:ms|s|m|h|d|min)\s?)+/g, "$1 <dur> ")
    .replace(/\b\d+(?:\.\d+)? ?(?:ms|s)\b/g, "<dur>")
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,64}\b/g, "<sha>")
    .replace(/[ \t]+$/gm, "")
    .replace(/ {2,}/g, " ");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Whether printed lines match the shown ones (both normalised); `…` is a wildcard. */
export function outputMatches(actual: readonly string[], expected: readonly string[]): boolean {
  const act = actual.map((l) => l.trimEnd());
  while (act.length > 0 && act.at(-1) === "") act.pop();
  const go = (a: number, e: number): boolean => {
    if (e === expected.length) return a === act.length;
    const want = (expected[e] ?? "").trim();
    if (want === "…" || want === "...") {
      for (let k = a; k <= act.length; k += 1) if (go(k, e + 1)) return true;
      return false;
    }
    if (a >= act.length) return false;
    const pattern = new RegExp(
      `^${want
        .split("…")
        // A shown <sha> also stands for an abbreviated commit that happens to be all digits
        // (1 in ~100 for 10 characters), which normalise() leaves alone so numbers stay numbers.
        .map((part) => escapeRegExp(part).split("<sha>").join("(?:<sha>|\\d{7,64})"))
        .join(".*")}$`,
    );
    return pattern.test((act[a] ?? "").trim()) && go(a + 1, e + 1);
  };
  return go(0, 0);
}

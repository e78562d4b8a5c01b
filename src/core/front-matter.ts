/**
 * The front matter of markdown task files: a small YAML subset, parsed strictly with
 * line numbers in every error. Accepted: `key: value` scalars (strings, optionally
 * quoted; integers; true/false), inline lists `[a, b]`, and block lists of `- item`
 * lines under a `key:` line. Anything else is an error naming the line.
 */

export type FrontValue = string | number | boolean | string[];

export interface FrontMatter {
  readonly fields: Record<string, FrontValue>;
  /** The markdown after the front matter. */
  readonly body: string;
  /** 1-based line of each key, for messages. */
  readonly lines: Record<string, number>;
}

export class FrontMatterError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

function scalar(raw: string, line: number): string | number | boolean {
  const text = raw.trim();
  if (/^".*"$/.test(text) || /^'.*'$/.test(text)) return text.slice(1, -1);
  if (/^-?\d+$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  if (/^[[{|>&*!%@`]/.test(text)) throw new FrontMatterError(line, `unsupported YAML value ${JSON.stringify(text)}`);
  return text;
}

/** Split a markdown file into front matter and body. No front matter: empty fields. */
export function parseFrontMatter(text: string): FrontMatter {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines[0]?.trim() !== "---") return { fields: Object.create(null), body: text, lines: Object.create(null) };
  const end = lines.findIndex((l, i) => i > 0 && l.trim() === "---");
  if (end === -1) throw new FrontMatterError(1, "front matter opened with --- is never closed");
  // No prototype: keys such as `constructor` or `__proto__` are plain keys here.
  const fields: Record<string, FrontValue> = Object.create(null) as Record<string, FrontValue>;
  const at: Record<string, number> = Object.create(null) as Record<string, number>;
  let listKey: string | null = null;
  for (let i = 1; i < end; i++) {
    const line = lines[i] ?? "";
    const n = i + 1;
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const item = /^\s+-\s+(.*)$/.exec(line) ?? /^-\s+(.*)$/.exec(line);
    if (item !== null) {
      if (listKey === null) throw new FrontMatterError(n, "a list item outside a list");
      (fields[listKey] as string[]).push(String(scalar(item[1] ?? "", n)));
      continue;
    }
    const pair = /^([A-Za-z_][A-Za-z0-9_-]*):\s*(.*)$/.exec(line);
    if (pair === null) throw new FrontMatterError(n, `expected "key: value", got ${JSON.stringify(line.trim())}`);
    const key = pair[1] as string;
    const value = (pair[2] ?? "").trim();
    if (Object.hasOwn(fields, key)) throw new FrontMatterError(n, `key ${key} appears twice`);
    at[key] = n;
    listKey = null;
    if (value === "") {
      fields[key] = [];
      listKey = key;
    } else if (value.startsWith("[")) {
      if (!value.endsWith("]")) throw new FrontMatterError(n, `unclosed list for ${key}`);
      const inner = value.slice(1, -1).trim();
      fields[key] = inner === "" ? [] : inner.split(",").map((v) => String(scalar(v, n)));
    } else fields[key] = scalar(value, n);
  }
  return { fields, body: lines.slice(end + 1).join("\n"), lines: at };
}

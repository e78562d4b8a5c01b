/**
 * docs/COMMANDS.md, written from the operation catalogue (src/api/catalogue.ts: names,
 * summaries, denial codes, what changes state and what needs a checkout) and the CLI's table
 * (src/surfaces/cli/operations.ts: words, arguments, flags and the input fields they set),
 * plus the other commands as main.ts declares them. `npm run docs` writes the file;
 * test/cli-operations.test.ts fails when the committed one differs. Never on a CLI call's
 * path (it loads zod through the catalogue).
 */
import type { Command } from "commander";
import { CATALOGUE } from "../../api/catalogue.js";
import { ERROR_CODES, type ErrorCode } from "../../core/errors.js";
import { buildProgram } from "./main.js";
import type { CliArgument, CliFlag, CliOperation } from "./operation-spec.js";
import { CLI_OPERATIONS } from "./operations.js";

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function argumentText(a: CliArgument): string {
  const name = `${a.name.toUpperCase()}${a.variadic === true ? "…" : ""}`;
  return a.optional === true ? `[${name}]` : name;
}

function flagText(f: CliFlag): string {
  const name = f.negate === true ? f.flag.replace(/^--/, "--no-") : f.flag;
  const value = f.value === undefined ? "" : ` <${f.value}${f.variadic === true ? "…" : ""}>`;
  return `${f.short === undefined ? "" : `${f.short}, `}${name}${value}`;
}

function typeText(f: CliFlag): string {
  const base =
    f.type === "boolean"
      ? "switch"
      : f.type === "list"
        ? f.variadic === true
          ? "list (several values)"
          : "list (comma-separated)"
        : f.type === "number"
          ? f.min === undefined && f.max === undefined
            ? "integer"
            : `integer ${f.min ?? 0}–${f.max ?? "…"}`
          : f.type;
  const choices = f.choices === undefined ? "" : `: ${f.choices.map((c) => `\`${c}\``).join(", ")}`;
  const required = f.required === undefined ? "" : ", required";
  const fallback =
    f.commanderDefault !== undefined
      ? `, default \`${f.commanderDefault}\``
      : f.default !== undefined && !Array.isArray(f.default)
        ? `, default \`${String(f.default)}\``
        : "";
  return `${base}${choices}${required}${fallback}`;
}

function fieldText(field: string | undefined, localOnly: boolean | undefined): string {
  if (field === undefined) return "— (CLI only)";
  return localOnly === true ? `\`${field}\` (here only)` : `\`${field}\``;
}

function codesText(codes: readonly string[]): string {
  return codes.length === 0 ? "none" : codes.map((c) => `\`${c}\``).join(", ");
}

function operationSection(spec: CliOperation, name: string): string[] {
  const operation = CATALOGUE.find((o) => o.name === name);
  if (operation === undefined) throw new Error(`no catalogue operation ${name}`);
  const usage = [`baton ${spec.words}`, ...(spec.args ?? []).map(argumentText)].join(" ");
  const runsWhere =
    spec.handler !== undefined
      ? spec.throughServer === true
        ? "here or through a server (`BATON_URL`); the checkout is read here (git, the working tree, the rules file) and what it says is sent"
        : "on this machine only (it reads the checkout: git, the working tree, the rules file)"
      : `here or through a server (\`BATON_URL\`${operation.admin === true ? ", with an admin's token" : ""})${(spec.flags ?? []).some((f) => f.localOnly === true) ? "; flags marked _here only_ need a registry here" : ""}`;
  const agent = spec.agent === true ? "yes" : spec.agent === undefined ? "no" : `with \`--${spec.agent.when}\``;
  const lines = [
    `### \`${usage}\``,
    "",
    `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`,
    "",
    `- Operation: \`${operation.name}\` — ${operation.summary}`,
    `- Changes state: ${operation.mutates ? "yes" : "no"}; needs an agent (\`--as\` / \`BATON_AGENT\`): ${agent}`,
    `- Runs: ${runsWhere}`,
    `- Denial codes (exit 1): ${codesText(operation.codes)}`,
  ];
  const rows: string[][] = [];
  for (const a of spec.args ?? [])
    rows.push([`\`${argumentText(a)}\``, fieldText(a.field, false), a.parse ?? "text", a.description ?? ""]);
  for (const f of spec.flags ?? [])
    rows.push([`\`${flagText(f)}\``, fieldText(f.field, f.localOnly), typeText(f), f.description ?? ""]);
  if (rows.length > 0) {
    lines.push("", "| Argument or flag | Input field | Value | Description |", "| --- | --- | --- | --- |");
    for (const row of rows) lines.push(`| ${row.map(cell).join(" | ")} |`);
  }
  return [...lines, ""];
}

/** Every command main.ts declares, as `words` → command (depth first, in declaration order). */
function declared(program: Command): { words: string; command: Command }[] {
  const out: { words: string; command: Command }[] = [];
  const walk = (command: Command, prefix: string): void => {
    for (const sub of command.commands) {
      const words = `${prefix}${sub.name()}`;
      out.push({ words, command: sub });
      walk(sub, `${words} `);
    }
  };
  walk(program, "");
  return out;
}

/** The whole of docs/COMMANDS.md. */
export function commandReference(): string {
  const names = Object.keys(CLI_OPERATIONS) as (keyof typeof CLI_OPERATIONS)[];
  const operationWords = new Set(names.map((name) => CLI_OPERATIONS[name].words));
  const lines = [
    "# Command reference",
    "",
    "<!-- Written by `npm run docs` from src/api/catalogue.ts and src/surfaces/cli/operations.ts;",
    "     test/cli-operations.test.ts fails when this file differs from what they generate. Do not edit. -->",
    "",
    "Every command takes `--as AGENT`, `--json` (one JSON object on stdout), `--db FILE`,",
    "`--database-url URL`, and `--url URL` / `--token TOKEN` to use a `baton serve` instead of a",
    "registry here. Exit codes: 0 done, 1 the expected no (a denial code below), 2 bad input, 3 a",
    "store that cannot be used ([ERRORS.md](ERRORS.md) lists every code).",
    "",
    "## Operations",
    "",
    "The catalogue's operations: each is also an MCP tool (`baton mcp`) and, unless it needs a",
    "checkout, a route of `baton serve` (`POST /v1/<name, _ as />`). A flag's _input field_ is the",
    "operation's input it sets, by the same name in MCP and HTTP.",
    "",
  ];
  for (const name of names) lines.push(...operationSection(CLI_OPERATIONS[name] as unknown as CliOperation, name));
  lines.push("## Other commands", "", "| Command | What it does |", "| --- | --- |");
  for (const { words, command } of declared(buildProgram("baton"))) {
    if (operationWords.has(words) || command.commands.length > 0) continue;
    const usage = command
      .usage()
      .replace(/\[options\] ?/, "")
      .trim();
    lines.push(`| \`baton ${words}${usage === "" ? "" : ` ${usage}`}\` | ${cell(command.summary())} |`);
  }
  const inputCodes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].kind === "input");
  lines.push("", `Bad input (exit 2) is one of ${codesText(inputCodes)}.`, "");
  return lines.join("\n");
}

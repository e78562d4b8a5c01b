/**
 * The `baton` (and `coordination`) command line. This file only declares the
 * commands; each action loads its handler on demand, so one call pays only for
 * what it runs. Handlers translate flags into library calls and render results.
 */
import { basename } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { BatonError } from "../../core/errors.js";
import { ENVIRONMENT_HELP } from "./config.js";
import { CLI_OPERATIONS } from "./operations.js";
import type { CliOperations } from "./operation-spec.js";
import { emitError } from "./output.js";

declare const BATON_VERSION: string | undefined;
const VERSION = typeof BATON_VERSION === "string" ? BATON_VERSION : "0.0.0-dev";

/** Flags every command accepts. */
export interface CommonFlags {
  as?: string;
  json?: boolean;
  db?: string;
  databaseUrl?: string;
  /** `--url`: a baton serve (default $BATON_URL). */
  url?: string;
  /** `--token`: the bearer token for --url (on `check`, --token is the fencing token instead). */
  token?: string;
}

function common(command: Command, options: { serverToken?: boolean } = {}): Command {
  command
    .option("--as <agent>", "act as this agent (default: $BATON_AGENT)")
    .option("--json", "print one JSON object on stdout")
    .option("--db <file>", "SQLite database file (default: $BATON_DB, or the repository's)")
    .option("--database-url <url>", "PostgreSQL URL: use the shared store (default: $BATON_DATABASE_URL)")
    .option("--url <url>", "a baton serve to use instead of a registry here (default: $BATON_URL)");
  if (options.serverToken !== false) {
    command.option("--token <token>", "the bearer token for --url (default: $BATON_TOKEN)");
  }
  return command;
}

/**
 * Declare the command of a catalogue operation from its CLI entry (src/surfaces/cli/operations.ts):
 * its words (the last one under `parent`), arguments, flags, and an action that loads the
 * generic runner. `--help`, commander's checks and docs/COMMANDS.md all read the same entry.
 */
export function operation(parent: Command, name: keyof CliOperations): Command {
  const spec = CLI_OPERATIONS[name];
  const command = common(parent.command(spec.words.split(" ").at(-1) as string)).summary(spec.summary);
  const args = spec.args ?? [];
  for (const a of args) {
    const text = `${a.name}${a.variadic === true ? "..." : ""}`;
    command.argument(a.optional === true ? `[${text}]` : `<${text}>`, a.description);
  }
  for (const f of spec.flags ?? []) {
    const name = f.negate === true ? f.flag.replace(/^--/, "--no-") : f.flag;
    const value = f.value === undefined ? "" : ` <${f.value}${f.variadic === true ? "..." : ""}>`;
    const text = `${f.short === undefined ? "" : `${f.short}, `}${name}${value}`;
    if (f.required === true) command.requiredOption(text, f.description);
    else if (f.commanderDefault !== undefined) command.option(text, f.description ?? "", f.commanderDefault);
    else command.option(text, f.description);
  }
  return command.action(async (...values: unknown[]) =>
    (await import("./operation-command.js")).runOperation(
      name,
      values.slice(0, args.length),
      values[args.length] as Record<string, unknown>,
    ),
  );
}

type Handlers = typeof import("./commands.js");

async function handlers(): Promise<Handlers> {
  return import("./commands.js");
}

function isJson(argv: readonly string[]): boolean {
  return argv.includes("--json");
}

/**
 * Stands in for a command this call does not run: every builder method is a no-op
 * that returns it, so declaring the other commands costs next to nothing.
 */
const SKIPPED: Command = new Proxy(Object.create(null) as Command, { get: () => () => SKIPPED });

/**
 * Build the program. `name` is `baton` or `coordination` (same commands). With
 * `only`, the other top-level commands are skipped: a call pays for declaring the
 * one it runs, not all of them (about a hundred commands and their options).
 */
export function buildProgram(name: string, only?: string): Command {
  const program = new Command(name)
    .description("Baton: atomic work claims for fleets of autonomous agents.")
    .version(VERSION, "-V, --version")
    .showSuggestionAfterError(true)
    .addHelpText("after", `\n${ENVIRONMENT_HELP}`);
  if (only !== undefined) {
    const declare = program.command.bind(program) as (...args: unknown[]) => Command;
    program.command = ((nameAndArgs: string, ...rest: unknown[]) =>
      nameAndArgs.split(" ")[0] === only ? declare(nameAndArgs, ...rest) : SKIPPED) as Command["command"];
  }
  // The catalogue's commands, each declared from its entry in operations.ts: placed among the
  // others below, and any entry not placed (a new operation) at the end, under its first words.
  const placed = new Set<string>();
  const place = (parent: Command, name: keyof CliOperations): Command => {
    placed.add(name);
    return operation(parent, name);
  };

  for (const name of ["claim", "renew", "complete", "release", "abandon", "handoff"] as const) place(program, name);

  place(program, "reap");

  for (const name of ["show", "list", "log", "context"] as const) place(program, name);

  const rulesCommand = program.command("rules").summary("the fleet's operating rules");
  common(rulesCommand.command("init"))
    .summary("write starter operating rules (.baton/RULES.md)")
    .option("--force", "replace an existing file")
    .option("--rules-file <file>", "where (default .baton/RULES.md at the repository root)")
    .action(async (flags) => (await import("./context.js")).rules("init", flags));
  common(rulesCommand.command("show"))
    .summary("print the rules with their version")
    .option("--rules-file <file>", "where (default .baton/RULES.md at the repository root)")
    .action(async (flags) => (await import("./context.js")).rules("show", flags));
  common(rulesCommand.command("check"))
    .summary("exit 1 while the rules are missing or have empty slots")
    .option("--rules-file <file>", "where (default .baton/RULES.md at the repository root)")
    .action(async (flags) => (await import("./context.js")).rules("check", flags));

  for (const name of ["note", "verify", "resolve"] as const) place(program, name);

  common(program.command("check"), { serverToken: false })
    .summary("exit 0 only while TOKEN is the live holder's fencing token")
    .argument("<key>")
    .requiredOption(
      "--token <n>",
      "the fencing token to check (through a server the bearer token comes from $BATON_TOKEN only)",
    )
    .action(async (key: string, flags) => (await handlers()).check(key, flags));

  common(program.command("run"))
    .summary(
      "claim, run a command while renewing, complete on exit 0 (release otherwise); --release for deploys and cron jobs",
    )
    .argument("<key>")
    .argument("[command...]", "after --: the command and its arguments")
    .option("--ttl <duration>", "lease length, renewed every third of it (default 10m)")
    .option(
      "--release",
      "recurring work (deploy, cron job, mutex): always release when the command ends, never complete",
    )
    .option("--reopen", "run even if the key was completed in the last 24 h")
    .option("--result <text>", "result recorded on success (not with --release)")
    .option("--commit <sha>", "commit recorded on success")
    .action(async (key: string, command: string[], flags) => (await import("./run.js")).run(key, command, flags));

  program
    .command("demo")
    .summary("race N agent processes over one backlog, without and with Baton")
    .option("--agents <n>", "agent processes", "12")
    .option("--tasks <n>", "tasks in the backlog", "40")
    .option("--work <duration>", "how long one task takes", "40ms")
    .option("--json", "print one JSON object on stdout")
    .option("--keep", "keep the temporary folder")
    .action(async (flags) => (await import("./demo/demo.js")).demo(flags));

  common(program.command("serve"))
    .summary("serve the registry over HTTP: /v1 API, SSE events, /metrics, /healthz, OpenAPI")
    .option("--host <host>", "address to bind (default 127.0.0.1; beyond loopback needs tokens)")
    .option("--port <port>", "port (default 7357; 0 picks a free one)")
    .option("--reap-every <duration>", "reap stale claims this often (default 5m)")
    .option("--reap-min-age <duration>", "reap claims expired at least this long (default 24h)")
    .option("--no-reap", "do not reap on a schedule")
    .option(
      "--stream-poll <duration>",
      "event streams read the log this often instead of watching the store (e.g. 200ms)",
    )
    .option("--no-group-commit", "SQLite: one transaction per request instead of one per batch of concurrent requests")
    .action(async (flags) => (await import("./serve.js")).serve(flags));

  const tokens = program.command("tokens").summary("bearer tokens for baton serve (one per agent)");
  common(tokens.command("add"))
    .summary("issue a token for an agent (printed once)")
    .argument("<agent>")
    .option("--admin", "may act as any agent (reap, force-release, resolve for others)")
    .option("--read-only", "may only read (dashboards, monitors)")
    .action(async (agent: string, flags) => (await import("./tokens.js")).tokensAdd(agent, flags));
  common(tokens.command("list"))
    .summary("list tokens (never their text)")
    .action(async (flags) => (await import("./tokens.js")).tokensList(flags));
  common(tokens.command("revoke"))
    .summary("revoke a token by id, or all of an agent's")
    .argument("<id-or-agent>")
    .action(async (target: string, flags) => (await import("./tokens.js")).tokensRevoke(target, flags));

  program
    .command("mcp")
    .summary("serve Baton's operations as MCP tools on stdio, for one agent")
    .option("--as <agent>", "the agent every tool call acts as (default: $BATON_AGENT)")
    .option("--db <file>", "SQLite database file (default: $BATON_DB, or the repository's)")
    .option("--database-url <url>", "PostgreSQL URL: use the shared store (default: $BATON_DATABASE_URL)")
    .action(async (flags) => (await import("./mcp.js")).mcp(flags));

  const paths = program.command("paths").summary("claim repository files, folders and globs");
  place(paths, "paths_claim");
  place(paths, "paths_release");
  place(paths, "paths_renew");
  place(paths, "paths_list");

  place(program, "sync_check");
  place(program, "probe");
  const hooks = program
    .command("hooks")
    .summary("git hooks: pre-commit path guard, agent trailer, pre-push sync check, post-commit record");
  common(hooks.command("install"))
    .summary("install Baton's git hooks, chaining to the hooks already there")
    .option("--release-on-commit", "post-commit also releases the path claims the commit covered")
    .action(async (flags) => (await import("./git-guards.js")).hooksInstall(flags));
  common(hooks.command("uninstall"))
    .summary("remove Baton's git hooks and restore the hooks that were there")
    .action(async (flags) => (await import("./git-guards.js")).hooksUninstall(flags));
  common(hooks.command("run"))
    .summary("what the installed hooks call (pre-commit, prepare-commit-msg, pre-push, post-commit)")
    .argument("<hook>")
    .argument("[args...]", "the arguments git passed to the hook")
    .option("--release-on-commit", "post-commit: release the covered path claims")
    .action(async (hook: string, args: string[], flags) =>
      (await import("./git-guards.js")).hooksRun(hook, args, flags),
    );

  common(program.command("init"))
    .summary("set this repository up for a fleet: rules, config, git hooks, ignore entries, harness hooks (idempotent)")
    .option("--claude", "also merge Baton's hooks into .claude/settings.json (Claude Code)")
    .option("--codex", "also merge Baton's hooks into .codex/hooks.json (OpenAI Codex CLI)")
    .option("--gemini", "also merge Baton's hooks into .gemini/settings.json (Gemini CLI)")
    .option("--uninstall", "remove only Baton's entries (of the harnesses named; none named: all, and the git hooks)")
    .option(
      "--hook-command <command>",
      'how harness hooks run Baton (default: this node and bundle by absolute path), e.g. "npx --no-install baton"',
    )
    .action(async (flags) => (await import("./init.js")).init(flags));
  program
    .command("hook")
    .summary("what harness hooks run: reads the harness's JSON on stdin, answers in its format")
    .argument("<harness>", "claude, codex or gemini")
    .argument("<event>", "session-start, pre-tool-use or session-end")
    .action(async (harness: string, event: string) => (await import("./hooks.js")).hook(harness, event));

  const db = program.command("db").summary("the registry: which one and why, its schema, explicit migration");
  common(db.command("status"))
    .summary("which registry is used and why, its schema version and pending migrations (creates and changes nothing)")
    .action(async (flags) => (await import("./db.js")).status(flags));
  common(db.command("migrate"))
    .summary("apply pending schema migrations (they also run on open)")
    .action(async (flags) => (await import("./db.js")).migrate(flags));
  common(db.command("repack"))
    .summary(
      "rewrite a SQLite registry made by an older Baton with 1 KiB pages (faster commits); stop every agent first",
    )
    .action(async (flags) => (await import("./db.js")).repack(flags));

  const task = program.command("task").summary("the backlog: tasks with categories, priorities and blockers");
  place(task, "task_add");
  place(task, "task_update");
  place(task, "task_show");
  place(task, "task_list");
  place(task, "task_done");
  place(task, "task_reopen");
  for (const action of ["block", "unblock"] as const) {
    common(task.command(action))
      .summary(action === "block" ? "add blockers to a task" : "remove blockers from a task")
      .argument("<id>")
      .argument("<blockers...>")
      .action(async (id: string, blockers: string[], flags) =>
        (await import("./tasks.js")).change(action, id, blockers, flags),
      );
  }
  place(task, "task_import");
  place(program, "next");
  place(program, "supply");

  const gate = program.command("gate").summary("side effects that happen once per window across the fleet");
  place(gate, "gate_lock");
  place(gate, "gate_check");
  place(gate, "gate_mark");
  place(gate, "gate_list");
  place(gate, "gate_forget");
  common(program.command("audit-gates"))
    .summary("find side-effect calls in scripts and code that do not go through baton gate")
    .argument("[paths...]", "files or folders (default: .)")
    .option("--pattern <regex...>", "more side-effect patterns to look for")
    .action(async (paths: string[], flags) => (await import("./gate-commands.js")).audit(paths, flags));

  // The seed system's verbs, verbatim: SESSION first, --ttl in minutes.
  common(program.command("work-claim"))
    .summary("seed verb: claim KEY for SESSION")
    .argument("<session>")
    .argument("<key>")
    .option("--ttl <minutes>", "lease in minutes (or 30s, 2h)", "60")
    .action(async (session: string, key: string, flags) => (await handlers()).workClaim(session, key, flags));
  common(program.command("work-complete"))
    .summary("seed verb: complete KEY for SESSION")
    .argument("<session>")
    .argument("<key>")
    .option("--result <text>", "what was done")
    .action(async (session: string, key: string, flags) => (await handlers()).workComplete(session, key, flags));
  common(program.command("work-abandon"))
    .summary("seed verb: abandon KEY for SESSION")
    .argument("<session>")
    .argument("<key>")
    .option("--reason <text>", "why")
    .action(async (session: string, key: string, flags) => (await handlers()).workAbandon(session, key, flags));
  common(program.command("work-reap"))
    .summary("seed verb: reap claims expired for --min-age-hours")
    .addOption(new Option("--min-age-hours <hours>", "hours past expiry").default("24"))
    .action(async (flags) => (await handlers()).workReap(flags));
  common(program.command("work-list"))
    .summary("seed verb: list live claims")
    .action(async (flags) => (await handlers()).workList(flags));

  for (const name of Object.keys(CLI_OPERATIONS) as (keyof CliOperations)[]) {
    if (placed.has(name)) continue;
    const words = CLI_OPERATIONS[name].words.split(" ");
    if (only !== undefined && words[0] !== only) continue;
    let parent: Command = program;
    for (const word of words.slice(0, -1))
      parent = parent.commands.find((c) => c.name() === word) ?? parent.command(word);
    operation(parent, name);
  }

  return program;
}

/** Run the CLI with `argv` (without node and script). Sets `process.exitCode`. */
export async function main(argv: readonly string[], invokedAs: string): Promise<void> {
  // A harness hook runs on every tool call: straight to its handler, without building the program.
  if (argv[0] === "hook" && argv.length === 3 && !argv.some((a) => a.startsWith("-"))) {
    await (await import("./hooks.js")).hook(argv[1] as string, argv[2] as string);
    return;
  }
  const name = invokedAs === "coordination" ? "coordination" : "baton";
  // Declare only the command named first; an option, `help`, or a name that matches
  // no command (the error lists and suggests commands) gets the whole program.
  const first = argv[0];
  const only = first === undefined || first.startsWith("-") || first === "help" ? undefined : first;
  let program = buildProgram(name, only);
  if (only !== undefined && program.commands.length === 0) program = buildProgram(name);
  const json = isJson(argv);
  const silence = { outputError: () => undefined };
  program.exitOverride().configureOutput(silence);
  const quiet = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput(silence);
      quiet(sub);
    }
  };
  quiet(program);
  if (argv.length === 0) {
    program.outputHelp();
    process.exitCode = 2;
    return;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      ) {
        process.exitCode = 0;
        return;
      }
      const text = error.message.replace(/^error: /, "");
      const code = error.code === "commander.unknownCommand" ? "UNKNOWN_COMMAND" : "BAD_OPTION";
      const hint = code === "UNKNOWN_COMMAND" ? ` (run ${program.name()} --help for the list)` : " (see --help)";
      emitError({ json }, new BatonError(code, `${text}${hint}`));
      return;
    }
    emitError({ json }, error);
  }
}

/**
 * Run the CLI for this process: `process.argv`, the name it was invoked as, and a
 * quiet exit when stdout's reader goes away. Importing this module runs nothing;
 * the executable (bin.ts) calls this.
 */
export function runProcess(): Promise<void> {
  const invokedAs = basename(process.argv[1] ?? "baton").replace(/\.(c?js|m?js|ts)$/, "");
  // A reader that goes away early (`baton --help | head -2`) is not an error worth a stack trace.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  return main(process.argv.slice(2), invokedAs).catch((error: unknown) => emitError({ json: false }, error));
}

/**
 * Harness integration: what Baton decides when an agent harness (Claude Code, OpenAI
 * Codex CLI, Gemini CLI) calls one of its lifecycle hooks. The surface
 * (`surfaces/cli/hooks.ts`) reads the harness's JSON, resolves files against the
 * checkout and prints the answer; everything it decides comes from here:
 *
 * - which files a tool call would write (`editTargets`, `patchTargets` for Codex's
 *   `apply_patch`), and who the session is (`sessionAgent`);
 * - whether the edit may go ahead: write scopes, protected paths, and claim-on-edit,
 *   the claim taken in one store transaction so two sessions racing for a file
 *   cannot both win (`beforeEdit`);
 * - what a session is told at start (`sessionContext`) and what is given back at its
 *   end (`endSession`);
 * - the same protected-path and write-scope rules for the pre-commit guard
 *   (`commitPolicy`);
 * - how each harness is answered (`renderAnswer`) and which configuration entries
 *   `baton init` merges into its settings file (`harnessEntries`, `mergeHooks`,
 *   `removeHooks`).
 *
 * Wire formats (the fixtures in test/fixtures/harness/ cite their sources):
 * Claude Code hooks reference (code.claude.com/docs/en/hooks), Codex hooks
 * (developers.openai.com/codex/hooks and codex-rs/hooks/schema/generated in
 * openai/codex), Gemini CLI hooks reference (geminicli.com/docs/hooks/reference).
 */
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import { MAX_AGENT_LENGTH, parseAgent } from "../core/identity.js";
import { compilePathPattern, type CompiledPattern, pathMatches } from "../core/paths.js";
import { durationMs, type DurationInput } from "../core/schemas.js";
import type { PathClaim } from "../core/types.js";
import type { Store } from "../store/store.js";
import { describeConflicts, repositoryPatterns } from "./paths.js";

/** What a hook run decided (a git hook or a harness's). */
export interface HookOutcome {
  readonly ok: boolean;
  readonly code?: "PATH_BLOCKED" | "OUT_OF_SYNC";
  readonly message: string;
}

/** The harnesses Baton answers. */
export const HARNESSES = ["claude", "codex", "gemini"] as const;
export type Harness = (typeof HARNESSES)[number];

/** Baton's hook events, one name for every harness (`baton hook HARNESS EVENT`). */
export const HOOK_EVENTS = ["session-start", "pre-tool-use", "session-end"] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** The harness's own event name for each of Baton's (null: the harness has no such event). */
export const HARNESS_EVENT_NAMES: Record<Harness, Record<HookEvent, string | null>> = {
  claude: { "session-start": "SessionStart", "pre-tool-use": "PreToolUse", "session-end": "SessionEnd" },
  // Codex has no SessionEnd event (its events: SessionStart, PreToolUse, PostToolUse,
  // PermissionRequest, UserPromptSubmit, Stop, PreCompact, PostCompact, Subagent*).
  codex: { "session-start": "SessionStart", "pre-tool-use": "PreToolUse", "session-end": null },
  gemini: { "session-start": "SessionStart", "pre-tool-use": "BeforeTool", "session-end": "SessionEnd" },
};

/** The tools whose calls write files, per harness: the matcher written into its config. */
export const EDIT_TOOLS: Record<Harness, readonly string[]> = {
  claude: ["Edit", "Write", "MultiEdit", "NotebookEdit"],
  codex: ["apply_patch"],
  gemini: ["write_file", "replace"],
};

/** Settings the hooks and the guard follow (from `.baton/config.json`). */
export interface HarnessPolicy {
  readonly claimOnEdit: "all" | "protected" | "off";
  readonly protectedPaths: readonly string[];
  readonly writeScopes: Readonly<Record<string, readonly string[]>>;
  readonly editTtl: DurationInput;
}

/** A hook's input, reduced to what Baton uses. */
export interface HookPayload {
  readonly sessionId: string | null;
  readonly cwd: string | null;
  /** SessionStart: startup, resume, clear, compact. */
  readonly source: string | null;
  readonly toolName: string | null;
  /** Files the tool call would write, as the harness gave them; null when the tool writes none. */
  readonly targets: string[] | null;
}

const str = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

/**
 * Parse the JSON a harness writes on the hook's stdin.
 *
 * @throws BatonError `BAD_INPUT` when it is not a JSON object
 */
export function parsePayload(harness: Harness, raw: string): HookPayload {
  let value: unknown;
  try {
    value = raw.trim() === "" ? {} : JSON.parse(raw);
  } catch (error) {
    throw new BatonError("BAD_INPUT", `the hook's stdin is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BatonError("BAD_INPUT", "the hook's stdin is not a JSON object");
  }
  const p = value as Record<string, unknown>;
  const toolName = str(p.tool_name);
  return {
    sessionId: str(p.session_id),
    cwd: str(p.cwd),
    source: str(p.source) ?? str(p.trigger),
    toolName,
    targets: toolName === null ? null : editTargets(harness, toolName, p.tool_input),
  };
}

/** The files a tool call writes (as given: absolute, or relative to the session's cwd); null for other tools. */
export function editTargets(harness: Harness, toolName: string, toolInput: unknown): string[] | null {
  if (!EDIT_TOOLS[harness].includes(toolName)) return null;
  const input = toolInput !== null && typeof toolInput === "object" ? (toolInput as Record<string, unknown>) : {};
  if (harness === "codex") {
    const patch = str(input.command) ?? str(input.input) ?? str(input.patch) ?? "";
    return patchTargets(patch);
  }
  const file = str(input.file_path) ?? str(input.notebook_path) ?? str(input.absolute_path) ?? str(input.path);
  return file === null ? [] : [file];
}

/**
 * The files an `apply_patch` patch touches: `*** Add File:`, `*** Update File:`,
 * `*** Delete File:` and the target of `*** Move to:`, in order, without repeats.
 */
export function patchTargets(patch: string): string[] {
  const out: string[] = [];
  for (const line of patch.split(/\r?\n/)) {
    const match = /^\*\*\* (?:(?:Add|Update|Delete) File|Move to): (.+)$/.exec(line.trimEnd());
    const file = match?.[1]?.trim();
    if (file && !out.includes(file)) out.push(file);
  }
  return out;
}

/**
 * The agent a hook acts as: `BATON_AGENT` when set, else `<harness>:<session id>`
 * (characters an agent name cannot hold become `-`, cut to 128).
 *
 * @throws BatonError `MISSING_AGENT` when neither is known, `BAD_AGENT` for a bad BATON_AGENT
 */
export function sessionAgent(harness: Harness, sessionId: string | null, envAgent: string | undefined): string {
  if (envAgent !== undefined && envAgent !== "") return parseAgent(envAgent);
  if (sessionId === null) {
    throw new BatonError("MISSING_AGENT", `the ${harness} hook got no session_id and BATON_AGENT is not set`);
  }
  return parseAgent(`${harness}:${sessionId.replace(/[^A-Za-z0-9._:@/-]/g, "-")}`.slice(0, MAX_AGENT_LENGTH));
}

/** Does an agent-name pattern (`*` any run, `?` one character) match this agent? */
export function agentMatches(pattern: string, agent: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${regex}$`).test(agent);
}

function compileConfigured(pattern: string, setting: string): CompiledPattern {
  try {
    return compilePathPattern(pattern.replace(/^\.\//, ""));
  } catch (error) {
    throw new BatonError(
      "BAD_CONFIG",
      `invalid ${setting} pattern ${JSON.stringify(pattern)}: ${(error as Error).message}`,
    );
  }
}

/** The path globs this agent may write (`<agent>` replaced by its name), or null when no scope names it. */
export function writeScope(agent: string, scopes: HarnessPolicy["writeScopes"]): string[] | null {
  let out: string[] | null = null;
  for (const [pattern, globs] of Object.entries(scopes)) {
    if (!agentMatches(pattern, agent)) continue;
    out ??= [];
    for (const glob of globs) out.push(glob.replaceAll("<agent>", agent));
  }
  return out;
}

/** One file a rule refuses. */
export interface PolicyViolation {
  readonly file: string;
  readonly kind: "out_of_scope" | "protected_unclaimed";
  readonly message: string;
}

/** Files (repository-relative) outside the agent's write scope. Pure. */
export function scopeViolations(agent: string, files: readonly string[], policy: HarnessPolicy): PolicyViolation[] {
  const scope = writeScope(agent, policy.writeScopes);
  if (scope === null) return [];
  const compiled = scope.map((g) => compileConfigured(g, "writeScopes"));
  return files
    .filter((file) => !compiled.some((c) => pathMatches(c, file)))
    .map((file) => ({
      file,
      kind: "out_of_scope" as const,
      message: `${file} is outside ${agent}'s write scope (${scope.join(", ")}, from writeScopes in .baton/config.json)`,
    }));
}

/** Is the file under one of the protected globs? */
export function isProtected(file: string, policy: HarnessPolicy): boolean {
  return policy.protectedPaths.some((p) => pathMatches(compileConfigured(p, "protectedPaths"), file));
}

/** Which of the edited files claim-on-edit claims. */
export function filesToClaim(files: readonly string[], policy: HarnessPolicy): string[] {
  if (policy.claimOnEdit === "off") return [];
  if (policy.claimOnEdit === "protected") return files.filter((f) => isProtected(f, policy));
  return [...files];
}

/** What the edit hook decided. */
export type EditDecision =
  | { readonly allow: true; readonly claimed: PathClaim[]; readonly message: string }
  | { readonly allow: false; readonly code: "PATH_CONFLICT" | "PATH_BLOCKED"; readonly message: string };

const WHAT_INSTEAD =
  "Do not edit it now: pick other work (`baton context` shows what is free, `baton next` takes a task), or see who is on these paths with `baton probe FILE`; the claim ends when its holder releases it or at its expiry.";

/**
 * Before an edit of `files` (repository-relative) by `agent`: refuse files outside
 * its write scope; claim the files claim-on-edit covers, in one store transaction
 * (all or nothing, renewed when already the agent's), refusing when another agent
 * holds any of them; refuse the other files when another agent holds them
 * exclusively, and protected ones the agent has not claimed.
 */
export async function beforeEdit(
  store: Store,
  input: { repo: string; agent: string; files: readonly string[]; policy: HarnessPolicy; reason: string },
): Promise<EditDecision> {
  const { repo, agent, policy } = input;
  // Validated as patterns (a file named like a broken glob is BAD_PATH, never a half-read claim).
  const files = repositoryPatterns(input.files);
  const scope = scopeViolations(agent, files, policy);
  if (scope.length > 0) {
    return {
      allow: false,
      code: "PATH_BLOCKED",
      message: `baton: edit refused: ${scope.map((v) => v.message).join("; ")}. Write only inside your scope, or ask for the change to be made by an agent whose scope covers it.`,
    };
  }
  const claim = filesToClaim(files, policy);
  const claimed: PathClaim[] = [];
  if (claim.length > 0) {
    const outcome = await store.claimPaths({
      repo,
      agent,
      patterns: claim,
      mode: "exclusive",
      ttlMs: durationMs(policy.editTtl, "editTtl"),
      reason: input.reason,
      advisory: false,
      work: null,
    });
    if (outcome.outcome === "conflict") {
      return {
        allow: false,
        code: "PATH_CONFLICT",
        message: `baton: edit refused: another agent holds ${outcome.conflicts.length === 1 ? "this file" : "these files"}:\n${describeConflicts(outcome.conflicts, await store.now())}\n${WHAT_INSTEAD}`,
      };
    }
    if (outcome.outcome === "granted") claimed.push(...outcome.claims);
  }
  const rest = files.filter((f) => !claim.includes(f));
  if (rest.length > 0) {
    const live = await store.listPaths({ repo, states: ["active"], limit: 100_000 });
    const now = await store.now();
    const blocked = rest.flatMap((file) =>
      live
        .filter((c) => c.agent !== agent && c.mode === "exclusive" && pathMatches(c.pattern, file))
        .map((held) => ({ pattern: file, held })),
    );
    if (blocked.length > 0) {
      return {
        allow: false,
        code: "PATH_CONFLICT",
        message: `baton: edit refused: another agent holds ${blocked.length === 1 ? "this file" : "these files"}:\n${describeConflicts(blocked, now)}\n${WHAT_INSTEAD}`,
      };
    }
    const mine = live.filter((c) => c.agent === agent);
    const unclaimed = rest.filter((f) => isProtected(f, policy) && !mine.some((c) => pathMatches(c.pattern, f)));
    if (unclaimed.length > 0) {
      return {
        allow: false,
        code: "PATH_BLOCKED",
        message: `baton: edit refused: ${unclaimed.join(", ")} ${unclaimed.length === 1 ? "is a protected path" : "are protected paths"} (protectedPaths in .baton/config.json) and must be claimed first, with a reason: baton paths claim ${unclaimed.join(" ")}`,
      };
    }
  }
  return {
    allow: true,
    claimed,
    message: claimed.length === 0 ? "" : `baton: claimed for ${agent}: ${claimed.map((c) => c.pattern).join(", ")}`,
  };
}

/**
 * The pre-commit guard's policy half: staged files that are protected but not
 * under a live claim of the committing agent, and staged files outside its write
 * scope, refuse the commit. Called by the pre-commit hook after the claim check; calls
 * `staged` (the workspace asks git) only when a rule applies to the agent.
 */
export async function commitPolicy(
  store: Store,
  input: { repo: string; agent: string; policy: HarnessPolicy; staged: () => Promise<readonly string[]> },
): Promise<HookOutcome & { readonly violations: PolicyViolation[] }> {
  const { repo, agent, policy } = input;
  if (policy.protectedPaths.length === 0 && writeScope(agent, policy.writeScopes) === null) {
    return { ok: true, violations: [], message: "" };
  }
  const staged = await input.staged();
  const violations = scopeViolations(agent, staged, policy);
  const protectedFiles = staged.filter((f) => isProtected(f, policy));
  if (protectedFiles.length > 0) {
    const mine = await store.listPaths({ repo, agent, states: ["active"], limit: 100_000 });
    for (const file of protectedFiles) {
      if (!mine.some((c) => pathMatches(c.pattern, file))) {
        violations.push({
          file,
          kind: "protected_unclaimed",
          message: `${file} is a protected path (protectedPaths) and ${agent} holds no claim on it`,
        });
      }
    }
  }
  if (violations.length === 0) return { ok: true, violations, message: "" };
  return {
    ok: false,
    code: "PATH_BLOCKED",
    violations,
    message: `baton: commit refused:\n${violations.map((v) => `  ${v.message}`).join("\n")}\nClaim protected files first (baton paths claim FILE), unstage files outside your write scope, or commit anyway with BATON_GUARD=off.`,
  };
}

/** What a session is told at its start: who it is, how edits are guarded, the rules' text and the context. */
export function sessionContext(input: {
  agent: string;
  harness: Harness;
  budget: number;
  rules: { text: string | null; path: string; version: string | null };
  context: string;
  policy: HarnessPolicy;
  identityPersisted: boolean;
}): string {
  const { agent, policy } = input;
  const scope = writeScope(agent, policy.writeScopes);
  const guard =
    policy.claimOnEdit === "all"
      ? "every file you edit is claimed for you first"
      : policy.claimOnEdit === "protected"
        ? "protected files you edit are claimed for you first"
        : "edits do not claim files";
  const header = [
    `Baton coordinates this repository. You are agent ${agent}${input.identityPersisted ? " (BATON_AGENT is set for your shell commands)" : ""}.`,
    `Before each edit Baton checks path claims: ${guard}; an edit of a file another agent holds is refused with the holder named — then pick other work or run \`baton probe FILE\`.${policy.protectedPaths.length > 0 ? ` Protected paths (claim before editing or committing): ${policy.protectedPaths.join(", ")}.` : ""}${scope === null ? "" : ` You may write only: ${scope.join(", ")}.`}`,
    "When this session ends your path claims are released and unfinished work claims become loose ends.",
    "",
  ].join("\n");
  const rulesText = input.rules.text ?? `(no operating rules yet: ${input.rules.path}; run \`baton rules init\`)`;
  const room = Math.max(0, input.budget - header.length - input.context.length - 40);
  const rules =
    rulesText.length <= room
      ? rulesText
      : `${rulesText.slice(0, Math.max(0, room - 80)).trimEnd()}\n… (cut to fit; read all of it: baton rules show)`;
  return `${header}\n${rules.trimEnd()}\n\n${input.context}`.slice(0, input.budget);
}

/** The `baton context` budget left after the header and a share for the rules' text. */
export function contextBudget(total: number, rulesLength: number): number {
  return Math.max(200, Math.min(total - 600 - Math.min(rulesLength, Math.floor(total / 2)), 1_000_000));
}

/**
 * At session end: release the agent's path claims in the repository and abandon its
 * live work claims with reason "session ended", so they are loose ends at once.
 */
export async function endSession(
  store: Store,
  input: { repo: string | null; agent: string },
): Promise<{ readonly released: PathClaim[]; readonly abandoned: string[]; readonly message: string }> {
  const released =
    input.repo === null
      ? []
      : await store.releasePaths({ repo: input.repo, agent: input.agent, patterns: null, commit: null });
  // Expired but not taken over counts too: nobody else holds it, so it is still this session's loose end.
  const live = await store.list({ states: ["active", "expired"], agent: input.agent, limit: 100_000 });
  const abandoned: string[] = [];
  for (const claim of live) {
    const outcome = await store.abandon({ key: claim.key, agent: input.agent, reason: "session ended" });
    if (outcome.ok) abandoned.push(claim.key);
  }
  const parts = [
    released.length > 0 ? `released ${released.length} path claim${released.length === 1 ? "" : "s"}` : "",
    abandoned.length > 0
      ? `left ${abandoned.length} unfinished work claim${abandoned.length === 1 ? "" : "s"} as loose ends (${abandoned.join(", ")})`
      : "",
  ].filter((p) => p !== "");
  return {
    released,
    abandoned,
    message: parts.length === 0 ? "" : `baton: session of ${input.agent} ended: ${parts.join("; ")}`,
  };
}

/** What the hook process prints and exits with. */
export interface HookAnswer {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Answer the harness in its own format. Claude Code and Codex share one wire format
 * (`hookSpecificOutput` with `permissionDecision: "deny"` and a reason; SessionStart's
 * `additionalContext`, plus `env` on Codex); Gemini CLI takes `decision: "deny"` and
 * `reason`, and `hookSpecificOutput.additionalContext` at session start.
 */
export function renderAnswer(
  harness: Harness,
  answer:
    | { event: "session-start"; context: string; env?: Record<string, string> }
    | { event: "pre-tool-use"; deny: string | null; note?: string }
    | { event: "session-end"; note?: string },
): HookAnswer {
  const json = (value: unknown): string => `${JSON.stringify(value)}\n`;
  const stderr = "note" in answer && answer.note ? `${answer.note}\n` : "";
  if (answer.event === "session-start") {
    const specific: Record<string, unknown> = { hookEventName: "SessionStart", additionalContext: answer.context };
    if (harness === "codex" && answer.env !== undefined) specific.env = answer.env;
    return { stdout: json({ hookSpecificOutput: specific }), stderr: "", exitCode: 0 };
  }
  if (answer.event === "pre-tool-use") {
    if (answer.deny === null)
      return { stdout: harness === "gemini" ? json({ decision: "allow" }) : "", stderr, exitCode: 0 };
    if (harness === "gemini")
      return { stdout: json({ decision: "deny", reason: answer.deny }), stderr: "", exitCode: 0 };
    return {
      stdout: json({
        hookSpecificOutput: {
          hookEventName: "PreToolUse",
          permissionDecision: "deny",
          permissionDecisionReason: answer.deny,
        },
      }),
      stderr: "",
      exitCode: 0,
    };
  }
  return { stdout: harness === "gemini" ? json({}) : "", stderr, exitCode: 0 };
}

/** The line a hook prints when it cannot decide (store unreachable, bad config), and how it then answers. */
export function failureAnswer(harness: Harness, event: HookEvent, mode: "open" | "closed", why: string): HookAnswer {
  const line = why.split("\n")[0] ?? why;
  if (event === "pre-tool-use" && mode === "closed") {
    const reason = `baton: edit refused because Baton could not check path claims (hookFailure is "closed"): ${line}`;
    return { ...renderAnswer(harness, { event, deny: reason }), stderr: `${reason}\n` };
  }
  const what =
    event === "pre-tool-use"
      ? "edit allowed without a claim"
      : event === "session-start"
        ? "no Baton context for this session"
        : "claims left to expire";
  // An empty answer lets the harness carry on as if no hook ran (Gemini wants a JSON object).
  return {
    stdout: harness === "gemini" ? "{}\n" : "",
    stderr: `baton: hook failed open (${what}): ${line}\n`,
    exitCode: 0,
  };
}

// ---------------------------------------------------------------------------
// Harness configuration files: Baton's entries, merged into what is there
// ---------------------------------------------------------------------------

/** Where each harness reads project hooks, relative to the repository root. */
export const HARNESS_CONFIG_FILES: Record<Harness, string> = {
  claude: ".claude/settings.json",
  codex: ".codex/hooks.json",
  gemini: ".gemini/settings.json",
};

/** A command Baton wrote: `… hook <harness> <event>` (whatever the path to Baton). */
const OUR_COMMAND = /(^|\s|')hook'? '?(claude|codex|gemini)'? '?(session-start|pre-tool-use|session-end)'?\s*$/;

/** Is this hook command one of Baton's? */
export function isBatonCommand(command: unknown): boolean {
  return typeof command === "string" && OUR_COMMAND.test(command);
}

interface HookGroup {
  matcher?: string;
  hooks: Record<string, unknown>[];
  [other: string]: unknown;
}

/** Baton's groups for one harness: event name -> the group to add. `base` is how to run Baton (shell words). */
export function harnessEntries(harness: Harness, base: string): Record<string, HookGroup> {
  // Claude Code and Codex take timeouts in seconds, Gemini CLI in milliseconds.
  const seconds = (s: number): number => (harness === "gemini" ? s * 1000 : s);
  const command = (event: HookEvent, timeout: number): Record<string, unknown> => ({
    type: "command",
    command: `${base} hook ${harness} ${event}`,
    timeout: seconds(timeout),
    ...(harness === "gemini" ? { name: `baton-${event}` } : {}),
  });
  const names = HARNESS_EVENT_NAMES[harness];
  const out: Record<string, HookGroup> = {};
  const starts = harness === "claude" ? "startup|resume|clear|compact" : "startup|resume|clear";
  out[names["session-start"] as string] = { matcher: starts, hooks: [command("session-start", 30)] };
  out[names["pre-tool-use"] as string] = {
    matcher: EDIT_TOOLS[harness].join("|"),
    hooks: [command("pre-tool-use", 15)],
  };
  const end = names["session-end"];
  if (end !== null) out[end] = { hooks: [command("session-end", 30)] };
  return out;
}

/** The result of a merge: the new settings object, and what changed. */
export interface MergeResult {
  readonly settings: Record<string, unknown>;
  readonly added: string[];
  readonly updated: string[];
  readonly kept: string[];
}

function hooksObject(settings: Record<string, unknown>, file: string): Record<string, unknown> {
  const hooks = settings.hooks;
  if (hooks === undefined) return {};
  if (hooks === null || typeof hooks !== "object" || Array.isArray(hooks)) {
    throw new BatonError(
      "BAD_CONFIG",
      `${file}: "hooks" is not an object; fix it by hand before baton init merges into it`,
    );
  }
  return hooks as Record<string, unknown>;
}

/**
 * Merge Baton's entries into a harness's settings, keeping every other setting and
 * hook: an event that already has Baton's command is updated in place (a new path to
 * Baton), otherwise Baton's group is appended. Running it twice adds nothing.
 */
export function mergeHooks(
  settings: Record<string, unknown>,
  entries: Record<string, HookGroup>,
  file: string,
): MergeResult {
  const hooks = { ...hooksObject(settings, file) };
  const added: string[] = [];
  const updated: string[] = [];
  const kept: string[] = [];
  for (const [event, group] of Object.entries(entries)) {
    const existing = hooks[event];
    if (existing !== undefined && !Array.isArray(existing)) {
      throw new BatonError(
        "BAD_CONFIG",
        `${file}: hooks.${event} is not a list; fix it by hand before baton init merges into it`,
      );
    }
    const groups = (existing ?? []) as HookGroup[];
    const at = groups.findIndex((g) => Array.isArray(g?.hooks) && g.hooks.some((h) => isBatonCommand(h?.command)));
    if (at === -1) {
      hooks[event] = [...groups, group];
      added.push(event);
    } else if (JSON.stringify(groups[at]) === JSON.stringify(group)) {
      kept.push(event);
    } else {
      hooks[event] = groups.map((g, i) => (i === at ? group : g));
      updated.push(event);
    }
  }
  return { settings: { ...settings, hooks }, added, updated, kept };
}

/** Remove Baton's commands (and groups left empty by that) from a harness's settings. */
export function removeHooks(
  settings: Record<string, unknown>,
  file: string,
): { settings: Record<string, unknown>; removed: string[] } {
  const hooks = { ...hooksObject(settings, file) };
  const removed: string[] = [];
  for (const [event, value] of Object.entries(hooks)) {
    if (!Array.isArray(value)) continue;
    let touched = false;
    const groups = (value as HookGroup[]).flatMap((g) => {
      if (!Array.isArray(g?.hooks)) return [g];
      const rest = g.hooks.filter((h) => !isBatonCommand(h?.command));
      if (rest.length === g.hooks.length) return [g];
      touched = true;
      return rest.length === 0 ? [] : [{ ...g, hooks: rest }];
    });
    if (!touched) continue;
    removed.push(event);
    if (groups.length === 0) delete hooks[event];
    else hooks[event] = groups;
  }
  const out: Record<string, unknown> = { ...settings, hooks };
  if (Object.keys(hooks).length === 0 && settings.hooks !== undefined && removed.length > 0) delete out.hooks;
  return { settings: out, removed };
}

/** "expires in 12m" for a claim, for messages. */
export function expiresIn(claim: PathClaim, now: Date): string {
  return formatDuration(Math.max(0, claim.expiresAt.getTime() - now.getTime()));
}

/**
 * `baton hook HARNESS EVENT`: what a harness's hook configuration runs (written by
 * `baton init --claude|--codex|--gemini`). Reads the harness's JSON on stdin,
 * resolves the files against the checkout, asks the harness service, and answers in
 * the harness's format. Never wedges a session: any failure is one line on stderr and
 * the harness carries on (or, with `hookFailure: "closed"`, the edit is refused).
 */
import { appendFileSync, existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { formatDuration, parseDuration } from "../../core/duration.js";
import { isBatonError } from "../../core/errors.js";
import type { Baton } from "../../baton.js";
import type { Store } from "../../store/store.js";
import {
  beforeEdit,
  commitPolicy,
  contextBudget,
  endSession,
  failureAnswer,
  HARNESSES,
  type Harness,
  type HookAnswer,
  type HookEvent,
  HOOK_EVENTS,
  parsePayload,
  renderAnswer,
  sessionAgent,
  sessionContext,
} from "../../services/harness.js";
import type { HookOutcome } from "../../services/harness.js";
import { repoIdentity, stagedFiles } from "../../workspace/git.js";
import { cachedRepoIdentity, locateRegistry } from "../../workspace/registry-location.js";
import { type Checkout, checkoutPatterns, resolveCheckout } from "../../workspace/checkout.js";
import { readRules, rulesPath } from "../../workspace/rules.js";
import { type CliConfig, resolveConfig } from "./config.js";
import { openFromConfig } from "./session.js";

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return "";
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function write(answer: HookAnswer): void {
  if (answer.stdout) process.stdout.write(answer.stdout);
  if (answer.stderr) process.stderr.write(answer.stderr);
  process.exitCode = answer.exitCode;
}

/**
 * The repository at `cwd`, or null outside one (nothing to coordinate there). The root is
 * the nearest folder up with a `.git` entry (a hook has no GIT_DIR to honour), which saves
 * a git process on every edit; so does the identity, read from the registry's cache of the
 * root commit once it exists.
 */
async function repoAt(cwd: string): Promise<Checkout | null> {
  let dir: string;
  try {
    dir = realpathSync(cwd);
  } catch {
    return null;
  }
  for (;;) {
    if (existsSync(join(dir, ".git"))) break;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  try {
    // The registry's cached root commit when it is there (opening the registry wrote it), so
    // an edit runs no git process; else git.
    let id = cachedRepoIdentity(dir);
    if (id === null) {
      locateRegistry(dir); // asks git once and caches the root commit for the next edits
      id = cachedRepoIdentity(dir) ?? (await repoIdentity(dir));
    }
    return { root: dir, id, cwd: realpathSync(cwd) };
  } catch (error) {
    if (isBatonError(error) && error.code === "NOT_GIT_REPO") return null;
    throw error;
  }
}

/** `path` with symbolic links resolved as far as it exists (a file being created does not yet). */
function realish(path: string): string {
  const rest: string[] = [];
  let dir = path;
  while (!existsSync(dir)) {
    const parent = dirname(dir);
    if (parent === dir) return path;
    rest.unshift(basename(dir));
    dir = parent;
  }
  return join(realpathSync(dir), ...rest);
}

/** The targets inside the repository, repository-relative with `/`; files outside it and under `.git/` are not Baton's. */
export function repoFiles(targets: readonly string[], cwd: string, root: string): string[] {
  const out: string[] = [];
  for (const target of targets) {
    const rel = relative(root, realish(isAbsolute(target) ? target : resolve(cwd, target)));
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) continue;
    const file = rel.split(sep).join("/");
    if (file === ".git" || file.startsWith(".git/")) continue;
    if (!out.includes(file)) out.push(file);
  }
  return out;
}

/** Persist the agent for the session's shell commands (Claude Code: `CLAUDE_ENV_FILE`), once. */
function persistAgent(agent: string): boolean {
  const file = process.env.CLAUDE_ENV_FILE;
  if (!file) return false;
  const line = `export BATON_AGENT='${agent}'`;
  const now = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (!now.split("\n").includes(line)) appendFileSync(file, `${now === "" || now.endsWith("\n") ? "" : "\n"}${line}\n`);
  return true;
}

async function withBaton<T>(config: CliConfig, fn: (baton: Baton) => Promise<T>): Promise<T> {
  const baton = await openFromConfig(config);
  try {
    return await fn(baton);
  } finally {
    await baton.close();
  }
}

const withStore = <T>(config: CliConfig, fn: (store: Store) => Promise<T>): Promise<T> =>
  withBaton(config, (baton) => fn(baton.store));

async function answer(
  harness: Harness,
  event: HookEvent,
  raw: string,
  setMode: (m: "open" | "closed") => void,
): Promise<HookAnswer> {
  const payload = parsePayload(harness, raw);
  // Not a file-writing tool: nothing to check, answered before any configuration or store is read.
  if (event === "pre-tool-use" && payload.targets === null) return renderAnswer(harness, { event, deny: null });
  const cwd = payload.cwd ?? process.env.CLAUDE_PROJECT_DIR ?? process.env.GEMINI_PROJECT_DIR ?? process.cwd();
  const config = await resolveConfig({}, process.env, cwd);
  setMode(config.harness.hookFailure);
  const agent = sessionAgent(harness, payload.sessionId, process.env.BATON_AGENT);
  const policy = config.harness;

  if (event === "pre-tool-use") {
    const repo = await repoAt(cwd);
    const files = repo === null ? [] : repoFiles(payload.targets ?? [], cwd, repo.root);
    if (repo === null || files.length === 0) return renderAnswer(harness, { event, deny: null });
    const reason = `claim-on-edit (${harness} session${payload.sessionId ? ` ${payload.sessionId.slice(0, 12)}` : ""})`;
    // Through the checkout's symbolic links, as a path claim typed here would be.
    const patterns = checkoutPatterns(files, { ...repo, cwd: repo.root });
    const decision = await withStore(config, (store) =>
      beforeEdit(store, { repo: repo.id, agent, files: patterns, policy, reason }),
    );
    return decision.allow
      ? renderAnswer(harness, { event, deny: null, note: decision.message })
      : renderAnswer(harness, { event, deny: decision.message });
  }

  if (event === "session-start") {
    const fromEnv = process.env.BATON_AGENT !== undefined && process.env.BATON_AGENT !== "";
    // Claude Code: CLAUDE_ENV_FILE; Codex: the `env` of the answer; Gemini CLI has no equivalent.
    const persisted = fromEnv || (harness === "claude" && persistAgent(agent)) || harness === "codex";
    const path = await rulesPath({ cwd, ...(config.rulesFile === undefined ? {} : { file: config.rulesFile }) });
    const rules = readRules(path);
    // Without the registry the session still gets its identity and the rules' text.
    let markdown: string;
    let note = "";
    try {
      markdown = await withBaton(
        config,
        async (baton) =>
          (
            await baton.context({
              as: agent,
              cwd,
              budget: contextBudget(policy.hookBudget, rules.text?.length ?? 0),
              rulesFile: path,
            })
          ).markdown,
      );
    } catch (error) {
      const why = isBatonError(error) ? `${error.code}: ${error.message}` : String(error);
      markdown = `(The fleet's state is unavailable: ${why.split("\n")[0]}. Run \`baton context\` before acting.)\n`;
      note = `baton: hook failed open (no fleet state in this session's context): ${why.split("\n")[0]}`;
    }
    const context = sessionContext({
      agent,
      harness,
      budget: policy.hookBudget,
      rules,
      context: markdown,
      policy,
      identityPersisted: persisted,
    });
    const out = renderAnswer(harness, {
      event,
      context,
      ...(harness === "codex" && !fromEnv ? { env: { BATON_AGENT: agent } } : {}),
    });
    return note === "" ? out : { ...out, stderr: `${note}\n` };
  }

  const repo = await repoAt(cwd);
  const ended = await withStore(config, (store) => endSession(store, { repo: repo?.id ?? null, agent }));
  return renderAnswer(harness, { event, note: ended.message });
}

/** `baton hook HARNESS EVENT`. */
export async function hook(harnessName: string, eventName: string): Promise<void> {
  const harness = harnessName as Harness;
  const event = (eventName === "before-tool" ? "pre-tool-use" : eventName) as HookEvent;
  if (!HARNESSES.includes(harness) || !HOOK_EVENTS.includes(event)) {
    // Exit 1, not 2: to Claude Code and Gemini CLI exit 2 means "block the tool call".
    process.stderr.write(
      `baton: unknown hook ${JSON.stringify(`${harnessName} ${eventName}`)}: use baton hook claude|codex|gemini session-start|pre-tool-use|session-end\n`,
    );
    process.exitCode = 1;
    return;
  }
  let mode: "open" | "closed" = "open";
  // A registry that hangs (a locked file, an unreachable server) must not hold the session:
  // past the deadline the hook answers as if it had failed, before the harness's own timeout.
  let deadlineMs = DEFAULT_HOOK_DEADLINE_MS;
  try {
    if (process.env.BATON_HOOK_DEADLINE)
      deadlineMs = parseDuration(process.env.BATON_HOOK_DEADLINE, { name: "BATON_HOOK_DEADLINE" });
  } catch (error) {
    process.stderr.write(`baton: ignoring BATON_HOOK_DEADLINE: ${(error as Error).message}\n`);
  }
  const deadline = setTimeout(() => {
    write(failureAnswer(harness, event, mode, `no answer within ${formatDuration(deadlineMs)} (BATON_HOOK_DEADLINE)`));
    process.exit(0);
  }, deadlineMs);
  try {
    write(await answer(harness, event, await readStdin(), (m) => (mode = m)));
  } catch (error) {
    const why = isBatonError(error)
      ? `${error.code}: ${error.message}`
      : `internal error: ${error instanceof Error ? error.message : String(error)}`;
    write(failureAnswer(harness, event, mode, why));
  } finally {
    clearTimeout(deadline);
  }
}

/** How long a hook may take before it answers as failed (the harnesses' timeouts Baton writes are 15 s and 30 s). */
export const DEFAULT_HOOK_DEADLINE_MS = 10_000;

/**
 * The pre-commit guard's policy check (protected paths, write scopes), run after the
 * claim check by `baton hooks run pre-commit`.
 */
export async function commitGuard(store: Store, agent: string, config: CliConfig): Promise<HookOutcome> {
  const policy = config.harness;
  if (policy.protectedPaths.length === 0 && Object.keys(policy.writeScopes).length === 0)
    return { ok: true, message: "" };
  const repo = await resolveCheckout({ cwd: process.cwd() });
  const result = await commitPolicy(store, { repo: repo.id, agent, policy, staged: () => stagedFiles(repo.root) });
  return result.ok ? { ok: true, message: "" } : { ok: false, code: result.code, message: result.message };
}

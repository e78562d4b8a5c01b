/**
 * Git hooks that put Baton's guards where the effect happens: pre-commit refuses a
 * commit of paths another agent holds exclusively, pre-push refuses a push from a
 * branch that is behind or has diverged, post-commit records the commit against
 * the agent's path claims (and with `--release-on-commit` releases them).
 *
 * Install never overwrites a hook: an existing one is moved beside ours as
 * `<name>.baton-chained` and run first; uninstall puts it back. Hooks go where git
 * looks for them (`core.hooksPath` when set), see docs for husky and lefthook.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import { parseAgent } from "../core/identity.js";
import type { PathClaim } from "../core/types.js";
import type { Store } from "../store/store.js";
import { addTrailer, AGENT_TRAILER, commitFiles, headCommit, hooksDir, repoRoot, stagedFiles } from "./git.js";
import type { HookOutcome } from "../services/harness.js";
import { PathService } from "../services/paths.js";
import { type RepoOptions, repositoryId } from "./checkout.js";
import { syncCheck } from "./guards.js";

/** The hooks Baton installs. */
export const HOOK_NAMES = ["pre-commit", "prepare-commit-msg", "pre-push", "post-commit"] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** The line that marks a hook file as Baton's. */
export const HOOK_MARKER =
  "# baton-hook: installed by `baton hooks install`; `baton hooks uninstall` restores what was here";
const CHAINED_SUFFIX = ".baton-chained";
/** Set to `true` (`git config baton.hooks.required true`) to refuse commits and pushes when Baton cannot be found or cannot run. */
export const REQUIRED_SETTING = "baton.hooks.required";

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The hook script. It runs the chained user hook first (with the same arguments and
 * stdin), then Baton's check, found in this order: `baton` on PATH; the CLI recorded at
 * install (`command`: the node binary and the bundle), with the recorded node or, when
 * that moved, `node` on PATH. When neither is there, or Baton fails to run (exit 3
 * store unavailable, 4 internal, 126/127 a node that cannot start), the guards
 * (pre-commit, pre-push) print one line and let the commit or push through, or refuse it
 * when `git config baton.hooks.required` is true; prepare-commit-msg and post-commit step
 * aside silently. Never a stack trace from a missing node or bundle.
 */
export function hookScript(name: HookName, command: readonly string[], releaseOnCommit: boolean): string {
  const args = ["hooks", "run", name, ...(name === "post-commit" && releaseOnCommit ? ["--release-on-commit"] : [])]
    .map(shellQuote)
    .join(" ");
  const stdin = name === "pre-push";
  const guard = name === "pre-commit" || name === "pre-push";
  const [recordedNode = "", recordedCli = "", ...rest] = command;
  // A bundle run by node can fall back to another node; any other recorded command runs as it is.
  const bundle = command.length === 2 && /\.(c?js|mjs)$/.test(recordedCli);
  // Inside double quotes, so the message names the recorded CLI as the script has it.
  const missing = bundle
    ? "Baton is not on PATH and $baton_cli (recorded by baton hooks install) cannot be run; put baton on PATH or run baton hooks install again"
    : "Baton is not on PATH; put baton on PATH or run baton hooks install again";
  const what = name === "pre-commit" ? "commit" : "push";
  // A guard that cannot run decides once, in one line: through (default) or refused (required).
  const unavailable = guard
    ? [
        "baton_unavailable() {",
        `  if [ "$(git config --bool ${REQUIRED_SETTING} 2>/dev/null)" = "true" ]; then`,
        `    echo "baton: ${what} refused: $1 (${REQUIRED_SETTING} is true)" >&2`,
        "    exit 1",
        "  fi",
        `  echo "baton: ${name} guard skipped: $1" >&2`,
        "  exit 0",
        "}",
      ]
    : ["baton_unavailable() {", "  exit 0", "}"];
  const lost = [`  baton_unavailable "${missing}"`];
  const find = bundle
    ? [
        `baton_node=${shellQuote(recordedNode)}`,
        `baton_cli=${shellQuote(recordedCli)}`,
        ...unavailable,
        "if command -v baton >/dev/null 2>&1; then",
        `  set -- baton ${args} "$@"`,
        'elif [ -f "$baton_cli" ] && [ -x "$baton_node" ]; then',
        `  set -- "$baton_node" "$baton_cli" ${args} "$@"`,
        'elif [ -f "$baton_cli" ] && command -v node >/dev/null 2>&1; then',
        `  set -- node "$baton_cli" ${args} "$@"`,
        "else",
        ...lost,
        "fi",
      ]
    : [
        ...unavailable,
        "if command -v baton >/dev/null 2>&1; then",
        `  set -- baton ${args} "$@"`,
        ...(command.length > 0
          ? [
              `elif command -v ${shellQuote(recordedNode)} >/dev/null 2>&1; then`,
              `  set -- ${[recordedNode, recordedCli, ...rest]
                .filter((c) => c !== "")
                .map(shellQuote)
                .join(" ")} ${args} "$@"`,
            ]
          : []),
        "else",
        ...lost,
        "fi",
      ];
  // 0 passes, 1 refuses, 2 is bad input (a broken config must be seen); anything else
  // (3 store unavailable, 4 internal, 126/127 a node that cannot run) is Baton failing to run.
  const run = guard
    ? [
        stdin ? `printf '%s\\n' "$input" | "$@"` : `"$@"`,
        "code=$?",
        'case "$code" in 0|1|2) exit "$code" ;; esac',
        'baton_unavailable "Baton could not run (exit $code, see above)"',
      ]
    : [`"$@" || true`];
  return [
    "#!/bin/sh",
    HOOK_MARKER,
    `chained="$(dirname "$0")/${name}${CHAINED_SUFFIX}"`,
    ...(stdin ? ['input="$(cat)"'] : []),
    'if [ -x "$chained" ]; then',
    stdin ? `  printf '%s\\n' "$input" | "$chained" "$@" || exit $?` : `  "$chained" "$@" || exit $?`,
    "fi",
    ...find,
    // A guard's verdict is its exit code; the others never stop a commit (an older baton on PATH may not know them).
    ...run,
    "",
  ].join("\n");
}

function isOurs(file: string): boolean {
  return existsSync(file) && readFileSync(file, "utf8").includes(HOOK_MARKER);
}

export interface HookChange {
  readonly hook: HookName;
  readonly path: string;
  /** `installed` (fresh), `chained` (a user hook moved aside and called first), `updated` (ours, rewritten). */
  readonly action: "installed" | "chained" | "updated" | "unchanged" | "removed" | "restored" | "absent";
}

/**
 * Install Baton's hooks into the repository's hooks folder (created when missing),
 * chaining to hooks that are there. Idempotent. `command` is how the hook calls Baton
 * when `baton` is not on PATH: typically the node binary and the CLI bundle, by
 * absolute path (see {@link hookScript}).
 *
 * @throws BatonError `NOT_GIT_REPO`
 */
export async function installHooks(
  cwd: string,
  options: { command: readonly string[]; releaseOnCommit?: boolean },
): Promise<{ readonly dir: string; readonly changes: HookChange[] }> {
  const dir = await hooksDir(cwd);
  // `git init --template=` or a fresh core.hooksPath: git looks in a folder that is not there yet.
  mkdirSync(dir, { recursive: true });
  const changes: HookChange[] = [];
  for (const hook of HOOK_NAMES) {
    const path = join(dir, hook);
    let action: HookChange["action"] = "installed";
    let releaseOnCommit = options.releaseOnCommit === true;
    if (isOurs(path)) {
      const current = readFileSync(path, "utf8");
      // Not asked either way (baton init): keep the post-commit behaviour installed before.
      if (options.releaseOnCommit === undefined) releaseOnCommit = current.includes("--release-on-commit");
      if (current === hookScript(hook, options.command, releaseOnCommit)) {
        changes.push({ hook, path, action: "unchanged" });
        continue;
      }
      action = "updated";
    } else if (existsSync(path)) {
      if (existsSync(path + CHAINED_SUFFIX)) {
        throw new BatonError(
          "BAD_INPUT",
          `cannot install the ${hook} hook: both ${path} and ${path}${CHAINED_SUFFIX} exist and neither is Baton's; move one away`,
        );
      }
      renameSync(path, path + CHAINED_SUFFIX);
      action = "chained";
    }
    writeFileSync(path, hookScript(hook, options.command, releaseOnCommit));
    chmodSync(path, 0o755);
    changes.push({ hook, path, action });
  }
  return { dir, changes };
}

/** Remove Baton's hooks and put chained user hooks back. Leaves hooks that are not Baton's alone. */
export async function uninstallHooks(cwd: string): Promise<{ readonly dir: string; readonly changes: HookChange[] }> {
  const dir = await hooksDir(cwd);
  const changes: HookChange[] = [];
  for (const hook of HOOK_NAMES) {
    const path = join(dir, hook);
    if (!isOurs(path)) {
      changes.push({ hook, path, action: "absent" });
      continue;
    }
    rmSync(path);
    if (existsSync(path + CHAINED_SUFFIX)) {
      renameSync(path + CHAINED_SUFFIX, path);
      changes.push({ hook, path, action: "restored" });
    } else changes.push({ hook, path, action: "removed" });
  }
  return { dir, changes };
}

/** What a hook run decided. */
export type { HookOutcome };

/**
 * The pre-commit guard: staged files under another agent's live exclusive path claim
 * refuse the commit. `bypass` lets it through and logs a `bypassed` event per file.
 */
export async function preCommit(
  store: Store,
  options: RepoOptions & { as: string; bypass: boolean },
): Promise<HookOutcome & { readonly blockers: { file: string; held: PathClaim }[] }> {
  const root = await repoRoot(options.cwd ?? process.cwd());
  const staged = await stagedFiles(root);
  const paths = new PathService(store);
  const blockers =
    staged.length === 0
      ? []
      : await paths.blockers(staged, { as: options.as, repo: await repositoryId({ ...options, cwd: root }) });
  if (blockers.length === 0) return { ok: true, blockers, message: "" };
  const now = await store.now();
  const lines = blockers.map(
    ({ file, held }) =>
      `  ${file}: held by ${held.agent} as ${held.pattern} (exclusive, token ${held.token}, expires in ${formatDuration(held.expiresAt.getTime() - now.getTime())})${held.reason ? ` — ${held.reason}` : ""}`,
  );
  if (options.bypass) {
    for (const { file, held } of blockers) {
      await store.recordEvent({
        kind: "bypassed",
        key: `path:${file}`,
        agent: options.as,
        commit: null,
        detail: { guard: "pre-commit", holder: held.agent, pattern: held.pattern, holderToken: held.token },
      });
    }
    return {
      ok: true,
      blockers,
      message: `baton: pre-commit guard bypassed (BATON_GUARD=off), logged:\n${lines.join("\n")}`,
    };
  }
  return {
    ok: false,
    code: "PATH_BLOCKED",
    blockers,
    message: `baton: commit refused: staged files are claimed by other agents:\n${lines.join("\n")}\nUnstage them, wait for the claim to end, or commit anyway with BATON_GUARD=off (logged).`,
  };
}

/**
 * The prepare-commit-msg step: name the agent in the message (`Baton-Agent: NAME`,
 * replacing one already there), so `probe` can tell agents apart even when they share
 * one git identity. Needs no store.
 */
export async function prepareCommitMsg(options: { cwd: string; file: string; as: string }): Promise<void> {
  await addTrailer(options.cwd, options.file, AGENT_TRAILER, parseAgent(options.as));
}

/** The post-commit note: record HEAD against my path claims covering its files; release them if asked. */
export async function postCommit(
  store: Store,
  options: RepoOptions & { as: string; releaseOnCommit: boolean },
): Promise<HookOutcome & { readonly noted: PathClaim[]; readonly released: PathClaim[] }> {
  const root = await repoRoot(options.cwd ?? process.cwd());
  const sha = await headCommit(root);
  if (sha === null) return { ok: true, noted: [], released: [], message: "" };
  const files = await commitFiles(root, sha);
  const paths = new PathService(store);
  const repo = await repositoryId({ ...options, cwd: root });
  const noted = await paths.noteCommit(sha, files, { as: options.as, repo });
  let released: PathClaim[] = [];
  if (options.releaseOnCommit && noted.length > 0) {
    released = (
      await paths.release(
        noted.map((c) => c.pattern),
        { as: options.as, repo, commit: sha },
      )
    ).released;
  }
  const message =
    noted.length === 0
      ? ""
      : `baton: recorded ${sha.slice(0, 10)} against ${noted.length} path claim${noted.length === 1 ? "" : "s"}${released.length > 0 ? `, released ${released.length}` : ""}`;
  return { ok: true, noted, released, message };
}

/** The pre-push guard: refuse a push from a branch that is behind or has diverged from the remote. */
export async function prePush(store: Store, options: RepoOptions & { remote: string }): Promise<HookOutcome> {
  const result = await syncCheck(store, { ...options, allowDirty: true, fetch: true });
  // A branch not pushed yet has nothing to fall behind.
  const findings = result.findings.filter((f) => f.kind !== "no_upstream");
  if (findings.length === 0) return { ok: true, message: "" };
  return {
    ok: false,
    code: "OUT_OF_SYNC",
    message: `baton: push refused:\n${findings.map((f) => `  ${f.message}`).join("\n")}`,
  };
}

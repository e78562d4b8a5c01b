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
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import type { PathClaim } from "../core/types.js";
import type { Store } from "../store/store.js";
import { commitFiles, headCommit, hooksDir, repoRoot, stagedFiles } from "./git.js";
import { PathService, type RepoOptions } from "./paths.js";
import { syncCheck } from "./guards.js";

/** The hooks Baton installs. */
export const HOOK_NAMES = ["pre-commit", "pre-push", "post-commit"] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** The line that marks a hook file as Baton's. */
export const HOOK_MARKER = "# baton-hook: installed by `baton hooks install`; `baton hooks uninstall` restores what was here";
const CHAINED_SUFFIX = ".baton-chained";

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** The hook script: run the chained user hook first (with the same stdin), then Baton's check. */
export function hookScript(name: HookName, command: readonly string[], releaseOnCommit: boolean): string {
  const run = [...command, "hooks", "run", name, ...(name === "post-commit" && releaseOnCommit ? ["--release-on-commit"] : [])]
    .map(shellQuote)
    .join(" ");
  const stdin = name === "pre-push";
  return [
    "#!/bin/sh",
    HOOK_MARKER,
    `chained="$(dirname "$0")/${name}${CHAINED_SUFFIX}"`,
    ...(stdin ? ['input="$(cat)"'] : []),
    'if [ -x "$chained" ]; then',
    stdin ? `  printf '%s\\n' "$input" | "$chained" "$@" || exit $?` : `  "$chained" "$@" || exit $?`,
    "fi",
    stdin ? `printf '%s\\n' "$input" | exec ${run} "$@"` : `exec ${run} "$@"`,
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
  readonly action: "installed" | "chained" | "updated" | "removed" | "restored" | "absent";
}

/**
 * Install Baton's hooks into the repository's hooks folder, chaining to hooks that
 * are there. Idempotent. `command` is how the hook calls Baton (node and the CLI path).
 *
 * @throws BatonError `NOT_GIT_REPO`
 */
export async function installHooks(
  cwd: string,
  options: { command: readonly string[]; releaseOnCommit?: boolean },
): Promise<{ readonly dir: string; readonly changes: HookChange[] }> {
  const dir = await hooksDir(cwd);
  const changes: HookChange[] = [];
  for (const hook of HOOK_NAMES) {
    const path = join(dir, hook);
    let action: HookChange["action"] = "installed";
    if (isOurs(path)) action = "updated";
    else if (existsSync(path)) {
      if (existsSync(path + CHAINED_SUFFIX)) {
        throw new BatonError(
          "BAD_INPUT",
          `cannot install the ${hook} hook: both ${path} and ${path}${CHAINED_SUFFIX} exist and neither is Baton's; move one away`,
        );
      }
      renameSync(path, path + CHAINED_SUFFIX);
      action = "chained";
    }
    writeFileSync(path, hookScript(hook, options.command, options.releaseOnCommit === true));
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
export interface HookOutcome {
  readonly ok: boolean;
  readonly code?: "PATH_BLOCKED" | "OUT_OF_SYNC";
  readonly message: string;
}

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
  const blockers = staged.length === 0 ? [] : await paths.blockers(staged, { ...options, cwd: root });
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
  const noted = await paths.noteCommit(sha, files, { ...options, cwd: root });
  let released: PathClaim[] = [];
  if (options.releaseOnCommit && noted.length > 0) {
    released = (await paths.release(noted.map((c) => c.pattern), { ...options, cwd: root, commit: sha })).released;
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

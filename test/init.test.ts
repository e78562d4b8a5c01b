/**
 * `baton init` on real repositories that already have things of their own: a user's
 * git hook, husky, a `.claude/settings.json` with other hooks and settings, a
 * `.gitignore`, a config file and rules. Everything is kept, a second run changes no
 * file, and `--uninstall` takes away only Baton's entries.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanEnv, cli, tempDir } from "./helpers.js";

function git(cwd: string, args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
}

function setup(): { dir: string; env: Record<string, string>; marker: string } {
  const base = tempDir();
  const dir = join(base, "repo");
  git(base, ["init", "-q", "-b", "main", dir]);
  git(dir, ["config", "user.email", "dev@example.com"]);
  git(dir, ["config", "user.name", "dev"]);
  writeFileSync(join(dir, "a.txt"), "1\n");
  git(dir, ["add", "."]);
  git(dir, ["commit", "-qm", "root"]);
  return {
    dir,
    env: { BATON_DB: join(base, "registry.db"), XDG_STATE_HOME: join(base, "state") },
    marker: join(base, "user-hook-ran"),
  };
}

/** Every file under dir (but .git/objects and logs), path -> content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (/^\.git\/(objects|logs|index|ORIG_HEAD|COMMIT_EDITMSG)/.test(rel)) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out[rel] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

const THEIR_SETTINGS = {
  permissions: { allow: ["Bash(npm test)"], deny: ["Read(./.env)"] },
  env: { FOO: "bar" },
  hooks: {
    PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "./scripts/check-bash.sh", timeout: 5 }] }],
    PostToolUse: [
      { matcher: "Edit|Write", hooks: [{ type: "command", command: 'npx prettier --write "$CLAUDE_FILE_PATHS"' }] },
    ],
    SessionStart: [{ matcher: "startup", hooks: [{ type: "command", command: "echo welcome" }] }],
  },
};

function commit(dir: string, env: Record<string, string>, file: string): { code: number; stderr: string } {
  writeFileSync(join(dir, file), `${Math.random()}\n`);
  git(dir, ["add", file]);
  const r = spawnSync("git", ["commit", "-qm", `change ${file}`], { cwd: dir, encoding: "utf8", env: cleanEnv(env) });
  return { code: r.status ?? -1, stderr: r.stderr };
}

describe("baton init", () => {
  it("keeps a user's hook, Claude settings with other hooks, .gitignore, config and rules; idempotent; uninstall takes only Baton's", () => {
    const { dir, env, marker } = setup();
    const userHook = `#!/bin/sh\necho ran >> '${marker}'\n`;
    writeFileSync(join(dir, ".git", "hooks", "pre-commit"), userHook);
    chmodSync(join(dir, ".git", "hooks", "pre-commit"), 0o755);
    mkdirSync(join(dir, ".claude"));
    writeFileSync(join(dir, ".claude", "settings.json"), JSON.stringify(THEIR_SETTINGS, null, 2));
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n.env");
    mkdirSync(join(dir, ".baton"));
    writeFileSync(join(dir, ".baton", "config.json"), JSON.stringify({ similar: "strict", claimOnEdit: "protected" }));
    writeFileSync(join(dir, ".baton", "RULES.md"), "# Our rules\n\n1. Be kind.\n");

    const first = cli(["init", "--claude"], { cwd: dir, env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("operating rules: kept");
    expect(first.stdout).toContain("config: added protectedPaths, hookFailure");
    expect(first.stdout).toContain("your hook moved to pre-commit.baton-chained");
    expect(first.stdout).toContain("claude hooks: added SessionStart, PreToolUse, SessionEnd");
    expect(first.stdout).toContain("Next:");

    const settings = JSON.parse(readFileSync(join(dir, ".claude", "settings.json"), "utf8"));
    expect(settings.permissions).toEqual(THEIR_SETTINGS.permissions);
    expect(settings.env).toEqual(THEIR_SETTINGS.env);
    expect(settings.hooks.PostToolUse).toEqual(THEIR_SETTINGS.hooks.PostToolUse);
    expect(settings.hooks.PreToolUse[0]).toEqual(THEIR_SETTINGS.hooks.PreToolUse[0]);
    expect(settings.hooks.PreToolUse[1].matcher).toBe("Edit|Write|MultiEdit|NotebookEdit");
    expect(settings.hooks.SessionStart[0]).toEqual(THEIR_SETTINGS.hooks.SessionStart[0]);
    const command: string = settings.hooks.PreToolUse[1].hooks[0].command;
    expect(command).toMatch(/^\/\S+ \/\S+baton\.js hook claude pre-tool-use$/); // absolute paths, never a registry lookup
    expect(command).not.toMatch(/npx/);
    expect(JSON.parse(readFileSync(join(dir, ".baton", "config.json"), "utf8"))).toEqual({
      similar: "strict",
      claimOnEdit: "protected",
      protectedPaths: [".baton/RULES.md", ".baton/config.json"],
      hookFailure: "open",
    });
    expect(readFileSync(join(dir, ".baton", "RULES.md"), "utf8")).toBe("# Our rules\n\n1. Be kind.\n");
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe(
      "node_modules/\n.env\n# Baton: local state, never committed\n.baton/*.db\n.baton/*.db-*\n",
    );
    expect(readFileSync(join(dir, ".git", "hooks", "pre-commit.baton-chained"), "utf8")).toBe(userHook);

    // Idempotent: a second run changes no file.
    const before = snapshot(dir);
    const second = cli(["init", "--claude"], { cwd: dir, env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("claude hooks: kept SessionStart, PreToolUse, SessionEnd");
    expect(snapshot(dir)).toEqual(before);

    // The user's hook still runs, then Baton's guard.
    expect(commit(dir, env, "a.txt").code).toBe(0);
    expect(readFileSync(marker, "utf8")).toBe("ran\n");

    // Uninstall --claude: the settings are exactly theirs again; the git hooks stay.
    const off = cli(["init", "--claude", "--uninstall"], { cwd: dir, env });
    expect(off.code, off.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, ".claude", "settings.json"), "utf8"))).toEqual(THEIR_SETTINGS);
    expect(readFileSync(join(dir, ".git", "hooks", "pre-commit"), "utf8")).toContain("baton-hook");
    // Uninstall everything: the user's hook is back in place.
    expect(cli(["init", "--uninstall"], { cwd: dir, env }).code).toBe(0);
    expect(readFileSync(join(dir, ".git", "hooks", "pre-commit"), "utf8")).toBe(userHook);
    expect(existsSync(join(dir, ".git", "hooks", "pre-commit.baton-chained"))).toBe(false);
  });

  it("in a husky repository: husky's hook keeps running, a second run changes nothing, uninstall restores husky's", () => {
    const { dir, env, marker } = setup();
    mkdirSync(join(dir, ".husky", "_"), { recursive: true });
    const shim = '#!/usr/bin/env sh\nsh "$(dirname "$0")/../pre-commit"\n';
    writeFileSync(join(dir, ".husky", "_", "pre-commit"), shim);
    chmodSync(join(dir, ".husky", "_", "pre-commit"), 0o755);
    writeFileSync(join(dir, ".husky", "pre-commit"), `echo husky >> '${marker}'\n`);
    git(dir, ["config", "core.hooksPath", ".husky/_"]);

    const first = cli(["init", "--codex", "--gemini"], { cwd: dir, env });
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(dir, ".codex", "hooks.json"))).toBe(true);
    const gemini = JSON.parse(readFileSync(join(dir, ".gemini", "settings.json"), "utf8"));
    expect(gemini.hooks.BeforeTool[0]).toMatchObject({ matcher: "write_file|replace" });
    expect(gemini.hooks.BeforeTool[0].hooks[0].timeout).toBe(15000); // Gemini CLI counts milliseconds
    const before = snapshot(dir);
    expect(cli(["init", "--codex", "--gemini"], { cwd: dir, env }).code).toBe(0);
    expect(snapshot(dir)).toEqual(before);

    expect(commit(dir, env, "a.txt").code).toBe(0);
    expect(readFileSync(marker, "utf8")).toBe("husky\n");

    expect(cli(["init", "--uninstall"], { cwd: dir, env }).code).toBe(0);
    expect(readFileSync(join(dir, ".husky", "_", "pre-commit"), "utf8")).toBe(shim);
    expect(JSON.parse(readFileSync(join(dir, ".gemini", "settings.json"), "utf8"))).toEqual({});
  });

  it("refuses bad input before writing anything: unreadable settings, a registry-resolving hook command, no repository", () => {
    const { dir, env } = setup();
    mkdirSync(join(dir, ".claude"));
    writeFileSync(join(dir, ".claude", "settings.json"), "{ not json");
    const before = snapshot(dir);
    const bad = cli(["init", "--claude"], { cwd: dir, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot read .*settings\.json/);
    expect(snapshot(dir)).toEqual(before);

    writeFileSync(join(dir, ".claude", "settings.json"), "{}");
    const npx = cli(["init", "--claude", "--hook-command", "npx baton"], { cwd: dir, env });
    expect(npx.code).toBe(2);
    expect(npx.stderr).toContain("npx --no-install baton");
    expect(existsSync(join(dir, ".baton"))).toBe(false);
    expect(cli(["init", "--claude", "--hook-command", "npx --no-install baton"], { cwd: dir, env }).code).toBe(0);
    const settings = JSON.parse(readFileSync(join(dir, ".claude", "settings.json"), "utf8"));
    expect(settings.hooks.SessionEnd[0].hooks[0].command).toBe("npx --no-install baton hook claude session-end");

    const outside = cli(["init"], { cwd: tempDir(), env });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain("not a git repository");
  });
});

describe("baton init after baton hooks install", () => {
  it("keeps --release-on-commit, and a second run reports the hooks unchanged", () => {
    const { dir, env } = setup();
    expect(cli(["hooks", "install", "--release-on-commit"], { cwd: dir, env }).code).toBe(0);
    const postCommit = join(dir, ".git", "hooks", "post-commit");
    expect(readFileSync(postCommit, "utf8")).toContain("--release-on-commit");
    const first = cli(["init", "--json"], { cwd: dir, env });
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(postCommit, "utf8")).toContain("--release-on-commit");
    const second = cli(["init"], { cwd: dir, env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/git post-commit hook: unchanged/);
    expect(second.stdout).not.toMatch(/hook: updated/);
  });
});

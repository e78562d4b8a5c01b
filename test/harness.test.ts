/**
 * Harness hooks end to end: a real git repository set up by `baton init --claude
 * --codex --gemini`, the documented payloads (test/fixtures/harness/) piped to the
 * exact commands init wrote, run as the harness runs them (`bash -c "$command"`, cwd in
 * the repository, the harness's environment variables), answers parsed as the harness
 * parses them. Plus the pure pieces: patch parsing, agent derivation, config merging.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  agentMatches,
  harnessEntries,
  mergeHooks,
  patchTargets,
  removeHooks,
  sessionAgent,
  writeScope,
} from "../src/services/harness.js";
import { cleanEnv, cli, ROOT, tempDir } from "./helpers.js";

const FIXTURES = join(ROOT, "test", "fixtures", "harness");

type HookName =
  | "claude session-start"
  | "claude pre-tool-use"
  | "claude session-end"
  | "codex session-start"
  | "codex pre-tool-use"
  | "gemini session-start"
  | "gemini pre-tool-use"
  | "gemini session-end";

interface Repo {
  dir: string;
  env: Record<string, string>;
  commands: Record<HookName, string>;
}

function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...cleanEnv(env) },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A repository with one commit, set up by `baton init` for all three harnesses; the commands it wrote. */
function repo(config?: Record<string, unknown>): Repo {
  const base = tempDir();
  const dir = join(base, "repo");
  mkdirSync(join(dir, "src"), { recursive: true });
  git(base, ["init", "-q", "-b", "main", dir]);
  git(dir, ["config", "user.email", "dev@example.com"]);
  git(dir, ["config", "user.name", "dev"]);
  for (const f of ["src/a.ts", "src/b.ts", "src/c.ts", "README.md"]) writeFileSync(join(dir, f), "1\n");
  git(dir, ["add", "."]);
  git(dir, ["commit", "-qm", "root"]);
  const env = { BATON_DB: join(base, "registry.db"), XDG_STATE_HOME: join(base, "state") };
  if (config !== undefined) {
    mkdirSync(join(dir, ".baton"));
    writeFileSync(join(dir, ".baton", "config.json"), JSON.stringify(config));
  }
  const init = cli(["init", "--claude", "--codex", "--gemini"], { cwd: dir, env });
  expect(init.code, init.stderr).toBe(0);
  const read = (file: string) => JSON.parse(readFileSync(join(dir, file), "utf8")).hooks;
  const claude = read(".claude/settings.json");
  const codex = read(".codex/hooks.json");
  const gemini = read(".gemini/settings.json");
  const commands: Record<HookName, string> = {
    "claude session-start": claude.SessionStart[0].hooks[0].command,
    "claude pre-tool-use": claude.PreToolUse[0].hooks[0].command,
    "claude session-end": claude.SessionEnd[0].hooks[0].command,
    "codex session-start": codex.SessionStart[0].hooks[0].command,
    "codex pre-tool-use": codex.PreToolUse[0].hooks[0].command,
    "gemini session-start": gemini.SessionStart[0].hooks[0].command,
    "gemini pre-tool-use": gemini.BeforeTool[0].hooks[0].command,
    "gemini session-end": gemini.SessionEnd[0].hooks[0].command,
  };
  return { dir: realpathSync(dir), env, commands };
}

function fixture(name: string, vars: { session: string; cwd: string; file?: string; patch?: string }): string {
  return readFileSync(join(FIXTURES, `${name}.json`), "utf8")
    .replaceAll("__SESSION__", vars.session)
    .replaceAll("__CWD__", vars.cwd)
    .replaceAll("__FILE__", vars.file ?? "")
    .replaceAll("__PATCH__", JSON.stringify(vars.patch ?? "").slice(1, -1));
}

interface HookRun {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, any> | null;
}

/** Run a hook command the way the harness does: through a shell, payload on stdin, cwd in the project. */
function runHook(r: Repo, command: string, input: string, env: Record<string, string> = {}): HookRun {
  const result = spawnSync("bash", ["-c", command], {
    cwd: r.dir,
    input,
    encoding: "utf8",
    env: cleanEnv({ ...r.env, CLAUDE_PROJECT_DIR: r.dir, GEMINI_PROJECT_DIR: r.dir, ...env }),
  });
  const stdout = result.stdout;
  return {
    code: result.status ?? -1,
    stdout,
    stderr: result.stderr,
    json: stdout.trim() === "" ? null : JSON.parse(stdout),
  };
}

function claudeEdit(r: Repo, session: string, file: string, tool = "write", env: Record<string, string> = {}): HookRun {
  return runHook(
    r,
    r.commands["claude pre-tool-use"],
    fixture(`claude/pre-tool-use-${tool}`, { session, cwd: r.dir, file }),
    env,
  );
}

const denial = (run: HookRun): string | null =>
  run.json?.hookSpecificOutput?.permissionDecision === "deny"
    ? String(run.json.hookSpecificOutput.permissionDecisionReason)
    : null;

function pathClaims(r: Repo): { pattern: string; agent: string }[] {
  const out = cli(["paths", "list", "--json"], { cwd: r.dir, env: r.env });
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout).claims.map((c: { pattern: string; agent: string }) => ({
    pattern: c.pattern,
    agent: c.agent,
  }));
}

describe("pure pieces", () => {
  it("patchTargets reads Add, Update, Delete and Move to lines of an apply_patch body", () => {
    const patch = [
      "*** Begin Patch",
      "*** Add File: src/new.ts",
      "+export const x = 1;",
      "*** Update File: src/a.ts",
      "*** Move to: src/renamed.ts",
      "@@",
      "-1",
      "+2",
      "*** Delete File: src/old.ts",
      "*** Update File: src/a.ts",
      "*** End Patch",
    ].join("\n");
    expect(patchTargets(patch)).toEqual(["src/new.ts", "src/a.ts", "src/renamed.ts", "src/old.ts"]);
    expect(patchTargets("no patch here")).toEqual([]);
  });

  it("sessionAgent prefers BATON_AGENT, else derives a valid name from the session id", () => {
    expect(sessionAgent("claude", "abc-123", "alice")).toBe("alice");
    expect(sessionAgent("codex", "0199 weird id!", undefined)).toBe("codex:0199-weird-id-");
    expect(sessionAgent("gemini", "x".repeat(300), "").length).toBe(128);
    expect(() => sessionAgent("claude", null, undefined)).toThrow(/session_id/);
  });

  it("write scopes match agent-name patterns and substitute <agent>", () => {
    expect(agentMatches("worker-*", "worker-7")).toBe(true);
    expect(agentMatches("worker-*", "lead")).toBe(false);
    expect(writeScope("worker-7", { "worker-*": ["scratch/<agent>/**"] })).toEqual(["scratch/worker-7/**"]);
    expect(writeScope("lead", { "worker-*": ["scratch/<agent>/**"] })).toBeNull();
  });

  it("mergeHooks keeps other hooks and settings, adds nothing twice, updates a moved Baton; removeHooks takes only Baton's", () => {
    const theirs = {
      permissions: { allow: ["Bash(npm test)"] },
      hooks: {
        PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "./lint.sh" }] }],
        Stop: [{ hooks: [{ type: "command", command: "say done" }] }],
      },
    };
    const first = mergeHooks(theirs, harnessEntries("claude", "/opt/baton"), "settings.json");
    expect(first.added).toEqual(["SessionStart", "PreToolUse", "SessionEnd"]);
    const again = mergeHooks(first.settings, harnessEntries("claude", "/opt/baton"), "settings.json");
    expect(again.added).toEqual([]);
    expect(again.settings).toEqual(first.settings);
    const moved = mergeHooks(first.settings, harnessEntries("claude", "/usr/local/bin/baton"), "settings.json");
    expect(moved.updated).toEqual(["SessionStart", "PreToolUse", "SessionEnd"]);
    expect(JSON.stringify(moved.settings)).not.toContain("/opt/baton");
    expect((moved.settings.hooks as any).PreToolUse).toHaveLength(2);
    expect(removeHooks(moved.settings, "settings.json").settings).toEqual(theirs);
  });
});

describe("Claude Code hooks", () => {
  it("session start injects the rules' text and the context, and persists the agent through CLAUDE_ENV_FILE", () => {
    const r = repo();
    expect(cli(["claim", "task:7", "--as", "alice"], { cwd: r.dir, env: r.env }).code).toBe(0);
    const envFile = join(r.dir, "..", "claude-env");
    writeFileSync(envFile, "");
    for (const name of ["claude/session-start", "claude/session-start-compact"]) {
      const run = runHook(r, r.commands["claude session-start"], fixture(name, { session: "S1", cwd: r.dir }), {
        CLAUDE_ENV_FILE: envFile,
      });
      expect(run.code, run.stderr).toBe(0);
      const out = run.json?.hookSpecificOutput;
      expect(out.hookEventName).toBe("SessionStart");
      expect(out.additionalContext).toContain("You are agent claude:S1");
      expect(out.additionalContext).toContain("Claim before you change anything shared"); // the rules' text, not just their name
      expect(out.additionalContext).toContain("# Baton context for claude:S1");
      expect(out.additionalContext).toContain("task:7 — alice");
      expect(out.additionalContext.length).toBeLessThanOrEqual(8000);
    }
    // Twice (startup, then compact), persisted once; a shell that sources it acts as the session.
    expect(readFileSync(envFile, "utf8")).toBe("export BATON_AGENT='claude:S1'\n");
    const shell = spawnSync("bash", ["-c", `source ${envFile}; echo "$BATON_AGENT"`], { encoding: "utf8" });
    expect(shell.stdout.trim()).toBe("claude:S1");
  });

  it("an edit of a free file is allowed and claimed; a second session is then refused naming the holder; session end releases", () => {
    const r = repo();
    for (const tool of ["write", "edit", "multiedit"]) {
      const run = claudeEdit(r, "S1", "src/a.ts", tool);
      expect(run.code, run.stderr).toBe(0);
      expect(denial(run)).toBeNull();
    }
    expect(claudeEdit(r, "S1", "src/nb.ipynb", "notebookedit").code).toBe(0);
    expect(pathClaims(r)).toEqual(
      expect.arrayContaining([
        { pattern: "src/a.ts", agent: "claude:S1" },
        { pattern: "src/nb.ipynb", agent: "claude:S1" },
      ]),
    );
    const second = claudeEdit(r, "S2", "src/a.ts", "edit");
    expect(second.code).toBe(0);
    const reason = denial(second);
    expect(reason).toContain("held by claude:S1");
    expect(reason).toContain("src/a.ts");
    expect(reason).toMatch(/expires \d{4}-\d\d-\d\dT/);
    expect(reason).toContain("claim-on-edit (claude session S1)");
    expect(reason).toContain("baton probe");
    // A tool that writes nothing is not looked at.
    const bash = runHook(
      r,
      r.commands["claude pre-tool-use"],
      fixture("claude/pre-tool-use-bash", { session: "S2", cwd: r.dir }),
    );
    expect(bash).toMatchObject({ code: 0, stdout: "" });

    // S1 holds a work claim too; its session end releases the paths and leaves the work as a loose end.
    expect(cli(["claim", "task:9", "--as", "claude:S1"], { cwd: r.dir, env: r.env }).code).toBe(0);
    const end = runHook(
      r,
      r.commands["claude session-end"],
      fixture("claude/session-end", { session: "S1", cwd: r.dir }),
    );
    expect(end.code, end.stderr).toBe(0);
    expect(end.stderr).toContain("released 2 path claims");
    expect(pathClaims(r)).toEqual([]);
    const show = JSON.parse(cli(["show", "task:9", "--json"], { cwd: r.dir, env: r.env }).stdout);
    expect(show.claim).toMatchObject({ state: "abandoned", reason: "session ended" });
    expect(denial(claudeEdit(r, "S2", "src/a.ts"))).toBeNull();
  });

  it("a file under another agent's path claim is refused with the holder, claim, expiry and reason", () => {
    const r = repo();
    const held = cli(["paths", "claim", "src/", "--as", "alice", "--reason", "auth refactor"], {
      cwd: r.dir,
      env: r.env,
    });
    expect(held.code, held.stderr).toBe(0);
    const reason = denial(claudeEdit(r, "S1", "src/b.ts"));
    expect(reason).toContain("held by alice as src/");
    expect(reason).toContain("auth refactor");
    expect(reason).toMatch(/in \d+m/);
    expect(reason).toContain("pick other work");
    expect(denial(claudeEdit(r, "S1", "README.md"))).toBeNull();
    // Files outside the repository are not Baton's: allowed, nothing claimed.
    const outside = runHook(
      r,
      r.commands["claude pre-tool-use"],
      fixture("claude/pre-tool-use-write", { session: "S1", cwd: r.dir, file: "../elsewhere.txt" }),
    );
    expect(outside).toMatchObject({ code: 0, stdout: "" });
    expect(
      pathClaims(r)
        .map((c) => c.pattern)
        .sort(),
    ).toEqual(["README.md", "src/"]);
    // BATON_AGENT, when set, is the agent: alice may edit her own files.
    expect(denial(claudeEdit(r, "S1", "src/b.ts", "edit", { BATON_AGENT: "alice" }))).toBeNull();
  });
});

describe("Codex hooks", () => {
  it("apply_patch claims every file of the patch, or is refused whole; session start hands the agent over in env", () => {
    const r = repo();
    const start = runHook(
      r,
      r.commands["codex session-start"],
      fixture("codex/session-start", { session: "T1", cwd: r.dir }),
    );
    expect(start.code, start.stderr).toBe(0);
    expect(start.json?.hookSpecificOutput).toMatchObject({
      hookEventName: "SessionStart",
      env: { BATON_AGENT: "codex:T1" },
    });
    expect(start.json?.hookSpecificOutput.additionalContext).toContain("# Operating rules");

    const patch = (files: string[]) =>
      [
        "*** Begin Patch",
        ...files.flatMap((f) => [`*** Update File: ${f}`, "@@", "-1", "+2"]),
        "*** Add File: src/new.ts",
        "+x",
        "*** End Patch",
      ].join("\n");
    const first = runHook(
      r,
      r.commands["codex pre-tool-use"],
      fixture("codex/pre-tool-use-apply-patch", { session: "T1", cwd: r.dir, patch: patch(["src/a.ts", "src/b.ts"]) }),
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe("");
    expect(
      pathClaims(r)
        .map((c) => c.pattern)
        .sort(),
    ).toEqual(["src/a.ts", "src/b.ts", "src/new.ts"]);
    const second = runHook(
      r,
      r.commands["codex pre-tool-use"],
      fixture("codex/pre-tool-use-apply-patch", { session: "T2", cwd: r.dir, patch: patch(["src/b.ts", "src/c.ts"]) }),
    );
    expect(denial(second)).toContain("held by codex:T1");
    expect(pathClaims(r).some((c) => c.pattern === "src/c.ts")).toBe(false); // all or nothing
    const bash = runHook(
      r,
      r.commands["codex pre-tool-use"],
      fixture("codex/pre-tool-use-bash", { session: "T2", cwd: r.dir }),
    );
    expect(bash).toMatchObject({ code: 0, stdout: "" });
  });
});

describe("Gemini CLI hooks", () => {
  it("write_file and replace claim the file; another session gets decision deny; session end releases", () => {
    const r = repo();
    const start = runHook(
      r,
      r.commands["gemini session-start"],
      fixture("gemini/session-start", { session: "G1", cwd: r.dir }),
    );
    expect(start.json?.hookSpecificOutput.additionalContext).toContain("You are agent gemini:G1");
    const write = runHook(
      r,
      r.commands["gemini pre-tool-use"],
      fixture("gemini/before-tool-write-file", { session: "G1", cwd: r.dir, file: "src/a.ts" }),
    );
    expect(write.json).toEqual({ decision: "allow" });
    const other = runHook(
      r,
      r.commands["gemini pre-tool-use"],
      fixture("gemini/before-tool-replace", { session: "G2", cwd: r.dir, file: "src/a.ts" }),
    );
    expect(other.json?.decision).toBe("deny");
    expect(other.json?.reason).toContain("held by gemini:G1");
    const shell = runHook(
      r,
      r.commands["gemini pre-tool-use"],
      fixture("gemini/before-tool-run-shell-command", { session: "G2", cwd: r.dir }),
    );
    expect(shell.json).toEqual({ decision: "allow" });
    const end = runHook(
      r,
      r.commands["gemini session-end"],
      fixture("gemini/session-end", { session: "G1", cwd: r.dir }),
    );
    expect(end.json).toEqual({});
    expect(pathClaims(r)).toEqual([]);
  });
});

describe("protected paths and write scopes", () => {
  const policy = {
    claimOnEdit: "off",
    protectedPaths: ["migrations/**", ".baton/RULES.md"],
    writeScopes: { "worker-*": ["scratch/<agent>/**"] },
  };

  function commit(r: Repo, file: string, agent: string): { code: number; stderr: string } {
    mkdirSync(join(r.dir, file, ".."), { recursive: true });
    writeFileSync(join(r.dir, file), `${Math.random()}\n`);
    git(r.dir, ["add", file]);
    const result = spawnSync("git", ["commit", "-qm", `edit ${file}`], {
      cwd: r.dir,
      encoding: "utf8",
      env: cleanEnv({ ...r.env, BATON_AGENT: agent }),
    });
    return { code: result.status ?? -1, stderr: result.stderr };
  }

  it("the edit hook refuses a protected file until it is claimed, and a file outside the agent's write scope", () => {
    const r = repo(policy);
    const refused = denial(claudeEdit(r, "S1", "migrations/001.sql", "write", { BATON_AGENT: "lead" }));
    expect(refused).toContain("protected path");
    expect(refused).toContain("baton paths claim migrations/001.sql");
    expect(denial(claudeEdit(r, "S1", "src/a.ts", "write", { BATON_AGENT: "lead" }))).toBeNull(); // claimOnEdit off: not protected, not claimed
    expect(pathClaims(r)).toEqual([]);
    expect(cli(["paths", "claim", "migrations/", "--as", "lead"], { cwd: r.dir, env: r.env }).code).toBe(0);
    expect(denial(claudeEdit(r, "S1", "migrations/001.sql", "write", { BATON_AGENT: "lead" }))).toBeNull();

    const worker = { BATON_AGENT: "worker-3" };
    const outside = denial(claudeEdit(r, "S2", "src/a.ts", "write", worker));
    expect(outside).toContain("outside worker-3's write scope (scratch/worker-3/**");
    expect(denial(claudeEdit(r, "S2", "scratch/worker-3/notes.md", "write", worker))).toBeNull();
    expect(denial(claudeEdit(r, "S2", "scratch/worker-4/notes.md", "write", worker))).toContain("outside");
  });

  it("claimOnEdit protected claims only protected files", () => {
    const r = repo({ claimOnEdit: "protected", protectedPaths: ["migrations/**"] });
    expect(denial(claudeEdit(r, "S1", "src/a.ts"))).toBeNull();
    expect(denial(claudeEdit(r, "S1", "migrations/003.sql"))).toBeNull();
    expect(pathClaims(r)).toEqual([{ pattern: "migrations/003.sql", agent: "claude:S1" }]);
    expect(denial(claudeEdit(r, "S2", "migrations/003.sql"))).toContain("held by claude:S1");
  });

  it("the pre-commit guard refuses a protected file the agent has not claimed and a file outside its scope (real git commit)", () => {
    const r = repo(policy);
    const unclaimed = commit(r, "migrations/002.sql", "lead");
    expect(unclaimed.code).not.toBe(0);
    expect(unclaimed.stderr).toContain("migrations/002.sql is a protected path");
    expect(cli(["paths", "claim", "migrations/002.sql", "--as", "lead"], { cwd: r.dir, env: r.env }).code).toBe(0);
    expect(commit(r, "migrations/002.sql", "lead").code).toBe(0);

    const scoped = commit(r, "src/b.ts", "worker-3");
    expect(scoped.code).not.toBe(0);
    expect(scoped.stderr).toContain("outside worker-3's write scope");
    git(r.dir, ["reset", "-q"]);
    expect(commit(r, "scratch/worker-3/out.txt", "worker-3").code).toBe(0);
  });
});

describe("never wedges a session", () => {
  it("an unreachable registry fails open with one line and no stack trace; hookFailure closed refuses the edit", () => {
    const r = repo();
    const broken = { BATON_DB: join(r.dir, "src") }; // a folder: cannot be opened as a database
    const open = claudeEdit(r, "S1", "src/a.ts", "write", broken);
    expect(open.code).toBe(0);
    expect(open.stdout).toBe("");
    expect(open.stderr.trim().split("\n")).toHaveLength(1);
    expect(open.stderr).toMatch(/^baton: hook failed open \(edit allowed without a claim\): STORE_/);
    const start = runHook(
      r,
      r.commands["claude session-start"],
      fixture("claude/session-start", { session: "S1", cwd: r.dir }),
      broken,
    );
    expect(start.code).toBe(0);
    expect(start.stderr.trim().split("\n")).toHaveLength(1);
    expect(start.stderr).toMatch(/^baton: hook failed open \(no fleet state in this session's context\): STORE_/);
    // The session still learns who it is and reads the rules.
    expect(start.json?.hookSpecificOutput.additionalContext).toContain("You are agent claude:S1");
    expect(start.json?.hookSpecificOutput.additionalContext).toContain("Claim before you change anything shared");
    expect(start.json?.hookSpecificOutput.additionalContext).toContain("The fleet's state is unavailable");

    const config = JSON.parse(readFileSync(join(r.dir, ".baton", "config.json"), "utf8"));
    writeFileSync(join(r.dir, ".baton", "config.json"), JSON.stringify({ ...config, hookFailure: "closed" }));
    const closed = claudeEdit(r, "S1", "src/a.ts", "write", broken);
    expect(closed.code).toBe(0);
    expect(denial(closed)).toContain('hookFailure is "closed"');
    // A bad harness setting is BAD_CONFIG, and (the config unreadable) the hook fails open.
    writeFileSync(join(r.dir, ".baton", "config.json"), JSON.stringify({ ...config, claimOnEdit: "sometimes" }));
    const badConfig = claudeEdit(r, "S1", "src/a.ts");
    expect(badConfig).toMatchObject({ code: 0, stdout: "" });
    expect(badConfig.stderr).toMatch(
      /^baton: hook failed open .*BAD_CONFIG: .*claimOnEdit: expected one of "all", "protected", "off"\n$/,
    );
    // Garbage on stdin is the same single line, never a stack trace.
    const garbage = runHook(r, r.commands["claude pre-tool-use"], "{not json");
    expect(garbage).toMatchObject({ code: 0, stdout: "" });
    expect(garbage.stderr).toMatch(/^baton: hook failed open .*BAD_INPUT/);
  });
});

describe("a hook that would hang", () => {
  it("a locked registry fails open after the busy timeout; hookFailure closed refuses", async () => {
    const r = repo();
    expect(cli(["paths", "list"], { cwd: r.dir, env: r.env }).code).toBe(0); // the file exists
    const locker = spawn(
      process.execPath,
      [
        "-e",
        `const D = require(${JSON.stringify(join(ROOT, "node_modules", "better-sqlite3"))}); const db = new D(${JSON.stringify(r.env.BATON_DB)}); db.exec("BEGIN IMMEDIATE"); console.log("locked"); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve) => locker.stdout.once("data", () => resolve()));
      const busy = { BATON_BUSY_TIMEOUT: "1s" };
      const open = claudeEdit(r, "S1", "src/a.ts", "write", busy);
      expect(open).toMatchObject({ code: 0, stdout: "" });
      expect(open.stderr).toMatch(/^baton: hook failed open \(edit allowed without a claim\): STORE_BUSY: [^\n]*\n$/);
      const config = JSON.parse(readFileSync(join(r.dir, ".baton", "config.json"), "utf8"));
      writeFileSync(join(r.dir, ".baton", "config.json"), JSON.stringify({ ...config, hookFailure: "closed" }));
      expect(denial(claudeEdit(r, "S1", "src/a.ts", "write", busy))).toContain("STORE_BUSY");
    } finally {
      locker.kill();
    }
  });

  it("stdin that never closes: the hook answers at BATON_HOOK_DEADLINE instead of holding the session", async () => {
    const r = repo();
    const child = spawn("bash", ["-c", r.commands["claude pre-tool-use"]], {
      cwd: r.dir,
      env: cleanEnv({ ...r.env, BATON_HOOK_DEADLINE: "1s" }),
    });
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.stdin.write(fixture("claude/pre-tool-use-write", { session: "S1", cwd: r.dir, file: "src/a.ts" })); // and never end()
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect(code).toBe(0);
    expect(err).toBe(
      "baton: hook failed open (edit allowed without a claim): no answer within 1s (BATON_HOOK_DEADLINE)\n",
    );
  });
});

describe("racing sessions", () => {
  it("two sessions editing overlapping files from real processes: exactly one wins each file", async () => {
    const r = repo();
    const files = Array.from({ length: 6 }, (_, i) => `src/race${i}.ts`);
    const run = (session: string, file: string) =>
      new Promise<{ session: string; file: string; denied: boolean }>((resolve, reject) => {
        const child = spawn("bash", ["-c", r.commands["claude pre-tool-use"]], {
          cwd: r.dir,
          env: cleanEnv({ ...r.env, BATON_BUSY_TIMEOUT: "30s" }),
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.once("error", reject);
        child.once("close", (code) => {
          if (code !== 0 || err.includes("failed open")) reject(new Error(`hook exited ${code}: ${err}`));
          else resolve({ session, file, denied: out.includes('"deny"') });
        });
        child.stdin.end(fixture("claude/pre-tool-use-write", { session, cwd: r.dir, file }));
      });
    const results = await Promise.all(files.flatMap((file) => [run("R1", file), run("R2", file)]));
    const claims = pathClaims(r);
    for (const file of files) {
      const winners = results.filter((x) => x.file === file && !x.denied);
      expect(winners, file).toHaveLength(1);
      expect(claims.filter((c) => c.pattern === file)).toEqual([
        { pattern: file, agent: `claude:${winners[0]?.session}` },
      ]);
    }
  });

  it("two Codex sessions racing overlapping multi-file patches: no file granted twice, each patch all or nothing", async () => {
    const r = repo();
    const g = (i: number) => `lib/g${i % 6}.ts`;
    const patches = [0, 2, 4].flatMap((i) => [
      { session: "P1", files: [g(i), g(i + 1)] },
      { session: "P2", files: [g(i + 1), g(i + 2)] },
    ]);
    const body = (files: string[]) =>
      ["*** Begin Patch", ...files.flatMap((f) => [`*** Add File: ${f}`, "+x"]), "*** End Patch"].join("\n");
    const run = (p: { session: string; files: string[] }) =>
      new Promise<{ session: string; files: string[]; denied: boolean }>((resolve, reject) => {
        const child = spawn("bash", ["-c", r.commands["codex pre-tool-use"]], {
          cwd: r.dir,
          env: cleanEnv({ ...r.env, BATON_BUSY_TIMEOUT: "30s" }),
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.once("error", reject);
        child.once("close", (code) =>
          code !== 0 || err.includes("failed open")
            ? reject(new Error(err))
            : resolve({ ...p, denied: out.includes('"deny"') }),
        );
        child.stdin.end(
          fixture("codex/pre-tool-use-apply-patch", { session: p.session, cwd: r.dir, patch: body(p.files) }),
        );
      });
    const results = await Promise.all(patches.map(run));
    const won = results.filter((x) => !x.denied);
    expect(won.length).toBeGreaterThan(0);
    const expected = won.flatMap((x) => x.files.map((f) => ({ pattern: f, agent: `codex:${x.session}` })));
    const byPattern = (a: { pattern: string }, b: { pattern: string }) => (a.pattern < b.pattern ? -1 : 1);
    // Exactly the winning patches' files are held, each by its winner: never one file by both.
    expect(pathClaims(r).sort(byPattern)).toEqual(expected.sort(byPattern));
  });
});

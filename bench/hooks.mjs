// One harness hook call vs the floor (`node -e 0`), median of interleaved runs, in a real
// repository set up by `baton init --claude` (so the config file is read, as in use).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, fmt, median, table, tempDir } from "./lib.mjs";

function time(args, env, cwd, input) {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { env, cwd, input, encoding: "utf8" });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export async function run({ quick }) {
  const runs = quick ? 15 : 40;
  const base = tempDir();
  const repo = join(base, "repo");
  mkdirSync(repo);
  const env = { ...process.env, BATON_DB: join(base, "hooks.db"), XDG_STATE_HOME: join(base, "state") };
  for (const key of Object.keys(env)) if (key.startsWith("BATON_") && key !== "BATON_DB") delete env[key];
  const git = (...args) => execFileSync("git", args, { cwd: repo, env, stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("config", "user.email", "bench@example.com");
  git("config", "user.name", "bench");
  writeFileSync(join(repo, "a.ts"), "1\n");
  git("add", ".");
  git("commit", "-qm", "root");
  time([CLI, "init", "--claude"], env, repo);
  time([CLI, "paths", "claim", "held.ts", "--as", "other"], env, repo);
  const payload = (session, tool, input) =>
    JSON.stringify({
      session_id: session,
      transcript_path: "/t.jsonl",
      cwd: repo,
      permission_mode: "default",
      hook_event_name: "PreToolUse",
      tool_name: tool,
      tool_input: input,
      tool_use_id: "toolu_1",
    });
  const hook = [CLI, "hook", "claude", "pre-tool-use"];
  const start = JSON.stringify({
    session_id: "S",
    transcript_path: "/t.jsonl",
    cwd: repo,
    hook_event_name: "SessionStart",
    source: "startup",
  });
  time(hook, env, repo, payload("S", "Write", { file_path: join(repo, "a.ts"), content: "x" })); // S holds a.ts from here on
  const rows = { floor: [], bash: [], renew: [], fresh: [], denied: [], start: [] };
  for (let i = 0; i < runs; i++) {
    rows.floor.push(time(["-e", "0"], env, repo));
    rows.bash.push(time(hook, env, repo, payload("S", "Bash", { command: "ls" })));
    rows.renew.push(
      time(hook, env, repo, payload("S", "Edit", { file_path: join(repo, "a.ts"), old_string: "1", new_string: "2" })),
    );
    rows.fresh.push(
      time(hook, env, repo, payload("S", "Write", { file_path: join(repo, `new${i}.ts`), content: "x" })),
    );
    rows.denied.push(
      time(
        hook,
        env,
        repo,
        payload("S", "Edit", { file_path: join(repo, "held.ts"), old_string: "1", new_string: "2" }),
      ),
    );
    if (i % 4 === 0) rows.start.push(time([CLI, "hook", "claude", "session-start"], env, repo, start));
  }
  const f = median(rows.floor);
  const ratio = (xs) => median(xs) / f;
  const line = (name, xs, target) => [
    name,
    fmt(median(xs), 1),
    `${ratio(xs).toFixed(2)}x`,
    target === undefined ? "" : ratio(xs) <= target ? "met" : "MISSED",
  ];
  const out = [
    ["node -e 0 (floor)", fmt(f, 1), "1.00x", ""],
    line("pre-tool-use, not an edit (Bash)", rows.bash),
    line("pre-tool-use, edit of my file (renew)", rows.renew, 1.3),
    line("pre-tool-use, edit of a free file (claim)", rows.fresh, 1.3),
    line("pre-tool-use, edit of a held file (deny)", rows.denied),
    line("session-start (rules + context)", rows.start),
  ];
  return {
    name: "hooks",
    rows: out,
    text: table(
      `One harness hook call (Claude Code format), median of ${runs} interleaved runs (target: edit hook within 1.3x the floor)`,
      ["hook", "median ms", "vs floor", "target"],
      out,
    ),
  };
}

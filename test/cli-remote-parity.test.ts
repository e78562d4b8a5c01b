/**
 * Every registry command, the same invocation twice as real processes: on a SQLite registry
 * here, and with BATON_URL + BATON_TOKEN through one live `baton serve` (its own SQLite file,
 * the same seed) — the same stdout (times, durations and the age-dependent scores masked), the
 * same `--json` (writes included: the server sends the library answer's fields in `data`),
 * the same stderr, the same exit code. A command with no row here fails the coverage check.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_OPERATIONS } from "../src/surfaces/cli/operations.js";
import { spawnCli } from "./cli-helpers.js";
import {
  cliAsync,
  cliChained,
  gitCheckout,
  ROOT,
  type ServeProcess,
  sleepUntil,
  startServe,
  tempDir,
  until,
} from "./helpers.js";

const TASK_FIXTURES = join(ROOT, "test", "fixtures", "tasks");

/** `ops` holds an admin's token on the server (reap is an admin's operation there). */
type Row = readonly [agent: "alice" | "bob" | "ops", args: readonly string[]];

/** An import whose blocker is no task: the store refuses it (BLOCKER_UNKNOWN, naming file:line), nothing written. */
const UNKNOWN_BLOCKER = ((): string => {
  const dir = tempDir("baton-parity-import-");
  writeFileSync(join(dir, "c.md"), "---\ncategory: x\n---\n# c\n");
  writeFileSync(join(dir, "d.md"), "---\ncategory: x\nblocked_by: [c, missing]\n---\n# d\n");
  return dir;
})();

/** The backlog both registries start with (run on each store directly). */
const SEED: readonly Row[] = [
  ["alice", ["task", "add", "t1", "--title", "low", "--priority", "10"]],
  ["alice", ["task", "add", "t2", "--title", "high", "--priority", "80", "--category", "docs"]],
  ["alice", ["task", "add", "t3", "--title", "after t2", "--blocked-by", "t2"]],
  // Claims for reap to find: expired before the rows run (beforeAll waits their expiry out).
  ["alice", ["claim", "stale:1", "--ttl", "1s"]],
  ["bob", ["claim", "stale:2", "--ttl", "1s", "--paths", "old/"]],
];

/** One chain of calls: each row's state is the one the rows before it left, on both sides. */
const ROWS: readonly Row[] = [
  ["alice", ["claim", "k:1", "--ttl", "30m", "--meta", '{"pr":7}']],
  ["alice", ["claim", "k:2", "--json"]],
  ["bob", ["claim", "k:1"]],
  ["bob", ["claim", "k:1", "--json"]],
  ["alice", ["renew", "k:1", "--ttl", "2h"]],
  ["alice", ["renew", "k:2", "--json"]],
  ["bob", ["renew", "k:1", "--json"]],
  ["alice", ["note", "k:1", "half way"]],
  ["alice", ["note", "k:1", "parser done", "--json"]],
  ["alice", ["complete", "k:1", "--result", "merged", "--commit", "abc1234"]],
  ["alice", ["complete", "k:2", "--json"]],
  ["bob", ["complete", "k:1", "--json"]],
  ["bob", ["claim", "k:1"]],
  ["bob", ["claim", "k:1", "--json"]],
  // Near-duplicate keys: the warning on a grant, the refusal with its hint (--similar strict).
  ["alice", ["claim", "issue:fix-login-bug"]],
  ["bob", ["claim", "issue:fix-login-bugs", "--similar", "strict", "--json"]],
  ["bob", ["claim", "issue:fix-the-login-bug", "--json"]],
  ["bob", ["claim", "issue:fix-login-bugz", "--strict-similar"]],
  ["bob", ["verify", "k:1", "--note", "tests pass"]],
  ["bob", ["verify", "k:2", "--json"]],
  ["bob", ["verify", "k:none", "--json"]],
  ["alice", ["claim", "r:1"]],
  ["alice", ["release", "r:1", "--commit", "abc1234"]],
  ["alice", ["claim", "r:2"]],
  ["alice", ["release", "r:2", "--json"]],
  ["alice", ["release", "r:2", "--json"]],
  ["alice", ["claim", "a:1"]],
  ["alice", ["abandon", "a:1", "--reason", "blocked"]],
  ["alice", ["claim", "a:2"]],
  ["alice", ["abandon", "a:2", "--json"]],
  ["bob", ["resolve", "a:1", "--note", "done elsewhere"]],
  ["bob", ["resolve", "a:2", "--json"]],
  ["bob", ["resolve", "a:2", "--json"]],
  ["alice", ["claim", "h:1"]],
  ["alice", ["handoff", "h:1", "--to", "bob", "--note", "yours"]],
  ["alice", ["claim", "h:2"]],
  ["alice", ["handoff", "h:2", "--to", "bob", "--json"]],
  ["alice", ["handoff", "h:2", "--to", "bob", "--json"]],
  ["alice", ["show", "k:1"]],
  ["alice", ["show", "k:1", "--json"]],
  ["alice", ["show", "k:none", "--json"]],
  ["alice", ["list"]],
  ["alice", ["list", "--state", "all", "--json"]],
  ["alice", ["list", "--mine", "--limit", "1"]],
  ["alice", ["log", "k:1"]],
  ["alice", ["log", "--agent", "bob", "--kind", "denied,granted", "--json"]],
  ["alice", ["log", "--limit", "3", "--after", "2"]],
  ["alice", ["gate", "check", "notify:x"]],
  ["alice", ["gate", "check", "notify:x", "--json"]],
  ["alice", ["gate", "mark", "notify:x", "--note", "sent"]],
  ["bob", ["gate", "mark", "notify:x"]],
  ["bob", ["gate", "mark", "notify:x", "--json"]],
  ["alice", ["gate", "mark", "notify:y", "--json"]],
  ["bob", ["gate", "check", "notify:x", "--window", "1h"]],
  ["bob", ["gate", "check", "notify:x", "--json"]],
  ["alice", ["supply"]],
  ["alice", ["supply", "--json"]],
  ["alice", ["context"]],
  ["alice", ["context", "--json"]],
  ["alice", ["task", "add", "t4", "--title", "four", "--category", "docs", "--priority", "60"]],
  ["alice", ["task", "add", "t5", "--title", "five", "--json"]],
  ["alice", ["task", "add", "t5", "--title", "again", "--json"]],
  ["alice", ["task", "update", "t1", "--title", "low, renamed", "--priority", "20"]],
  ["alice", ["task", "update", "t1", "--priority", "30", "--json"]],
  ["alice", ["task", "update", "t9", "--title", "x", "--json"]],
  ["alice", ["task", "block", "t1", "t5", "--json"]],
  ["alice", ["task", "unblock", "t1", "t5", "--json"]],
  ["alice", ["task", "block", "t3", "t1"]],
  ["alice", ["task", "unblock", "t3", "t1"]],
  ["alice", ["task", "block", "t9", "t1", "--json"]],
  ["alice", ["task", "show", "t3"]],
  ["alice", ["task", "show", "t3", "--json"]],
  ["alice", ["task", "show", "t9", "--json"]],
  ["alice", ["task", "list"]],
  ["alice", ["task", "list", "--state", "ready,blocked"]],
  ["alice", ["task", "list", "--state", "ready", "--limit", "2", "--json"]],
  ["alice", ["task", "list", "--category", "docs", "--limit", "1"]],
  ["alice", ["task", "list", "--state", "sideways"]],
  ["alice", ["task", "list", "--limit", "0", "--json"]],
  ["bob", ["next", "--dry-run", "--seed", "1", "--explain"]],
  ["bob", ["next", "--dry-run", "--seed", "1", "--json"]],
  ["bob", ["next", "--seed", "1", "--ttl", "1h", "--explain"]],
  ["alice", ["next", "--category", "none", "--seed", "1", "--json"]],
  ["alice", ["task", "done", "t2"]],
  ["alice", ["task", "done", "t1", "--json"]],
  ["alice", ["task", "done", "t9", "--json"]],
  ["alice", ["task", "reopen", "t1", "--json"]],
  ["alice", ["task", "reopen", "t2"]],
  ["alice", ["task", "list", "--state", "done,claimed", "--json"]],
  ["bob", ["next", "--seed", "2", "--json"]],
  ["alice", ["paths", "claim", "src/auth/", "--reason", "auth"]],
  ["bob", ["paths", "claim", "src/auth/login.ts", "--json"]],
  ["bob", ["paths", "claim", "lib/", "--shared", "--json"]],
  ["alice", ["paths", "list"]],
  ["alice", ["paths", "list", "--state", "all", "--json"]],
  ["alice", ["paths", "renew", "--ttl", "2h"]],
  ["bob", ["paths", "renew", "lib/", "--json"]],
  ["bob", ["claim", "k:p", "--paths", "src/auth/x.ts", "--json"]],
  ["bob", ["claim", "k:p", "--paths", "tests/", "--json"]],
  ["alice", ["paths", "release", "src/auth/", "--json"]],
  ["bob", ["paths", "release"]],
  ["alice", ["run", "run:1", "--result", "built", "--", process.execPath, "-e", "console.log(process.env.BATON_KEY)"]],
  ["alice", ["run", "run:2", "--json", "--", process.execPath, "-e", "process.exit(3)"]],
  ["alice", ["list", "--state", "all", "--prefix", "run:", "--json"]],
  // check: --token is the fencing token (the bearer comes from BATON_TOKEN), one read of the claim.
  ["alice", ["claim", "c:1"]],
  ["alice", ["check", "c:1", "--token", "1"]],
  ["bob", ["check", "c:1", "--token", "1", "--json"]],
  ["bob", ["check", "c:1", "--token", "2", "--json"]],
  ["bob", ["check", "c:none", "--token", "1"]],
  ["alice", ["release", "c:1"]],
  ["alice", ["check", "c:1", "--token", "1", "--json"]],
  // gate run: the command runs here, every registry step through the server; skips, --strict, --once-only.
  [
    "alice",
    [
      "gate",
      "run",
      "notify:r",
      "--note",
      "sent",
      "--",
      process.execPath,
      "-e",
      "console.log('hi', process.env.BATON_AGENT)",
    ],
  ],
  ["bob", ["gate", "run", "notify:r", "--json", "--", process.execPath, "-e", "console.log('again')"]],
  ["bob", ["gate", "run", "notify:r", "--strict", "--", process.execPath, "-e", "console.log('again')"]],
  ["bob", ["gate", "run", "notify:r", "-q", "--", process.execPath, "-e", "console.log('again')"]],
  ["bob", ["gate", "run", "notify:f", "--json", "--", process.execPath, "-e", "process.exit(3)"]],
  ["bob", ["gate", "run", "notify:f", "--", process.execPath, "-e", "console.log('retried')"]],
  ["alice", ["gate", "run", "notify:o", "--once-only", "--json", "--", process.execPath, "-e", "process.exit(4)"]],
  ["alice", ["gate", "run", "notify:o", "--once-only", "--", process.execPath, "-e", "console.log('never')"]],
  [
    "alice",
    [
      "gate",
      "run",
      "notify:w",
      "--window",
      "1h",
      "--ttl",
      "1m",
      "--wait",
      "0s",
      "--json",
      "--",
      process.execPath,
      "-e",
      "1",
    ],
  ],
  ["alice", ["gate", "check", "notify:f", "--json"]],
  ["alice", ["log", "--kind", "skipped", "--json"]],
  // task import: read and checked here, one transaction there; again changes nothing; a bad file imports nothing.
  ["alice", ["task", "import", join(TASK_FIXTURES, "md")]],
  ["alice", ["task", "import", join(TASK_FIXTURES, "md"), "--json"]],
  ["alice", ["task", "import", join(TASK_FIXTURES, "bad"), "--json"]],
  ["alice", ["task", "import", join(TASK_FIXTURES, "bad")]],
  ["alice", ["task", "import", join(TASK_FIXTURES, "issues.json"), "--json"]],
  ["alice", ["task", "import", UNKNOWN_BLOCKER, "--json"]],
  ["alice", ["task", "show", "login", "--json"]],
  ["alice", ["task", "list", "--limit", "100", "--json"]],
  // The seed verbs: SESSION is the agent (the token's, as --as would be); --ttl in minutes.
  ["alice", ["work-claim", "alice", "w:1", "--ttl", "30"]],
  ["alice", ["work-claim", "alice", "w:2", "--json"]],
  ["bob", ["work-claim", "bob", "w:1"]],
  ["bob", ["work-claim", "bob", "w:1", "--json"]],
  ["alice", ["work-claim", "alice", "w:3", "--ttl", "soon"]],
  ["alice", ["work-list"]],
  ["alice", ["work-list", "--json"]],
  ["bob", ["work-complete", "bob", "w:1"]],
  ["bob", ["work-complete", "bob", "w:1", "--json"]],
  ["alice", ["work-complete", "alice", "w:1", "--result", "merged"]],
  ["alice", ["work-complete", "alice", "w:1", "--json"]],
  ["bob", ["work-claim", "bob", "w:1"]],
  ["bob", ["work-claim", "bob", "w:1", "--json"]],
  ["alice", ["work-abandon", "alice", "w:2", "--reason", "superseded"]],
  ["alice", ["work-abandon", "alice", "w:2", "--json"]],
  ["alice", ["work-abandon", "alice", "w:2"]],
  // reap: an admin's operation through a server; what expired at least --min-age ago becomes a loose end.
  ["ops", ["reap", "--min-age", "soon"]],
  ["ops", ["reap", "--json"]],
  ["ops", ["work-reap", "--min-age-hours", "x"]],
  ["ops", ["work-reap", "--min-age-hours", "24"]],
  ["ops", ["work-reap", "--json"]],
  ["ops", ["reap", "--min-age", "0s"]],
  ["ops", ["reap", "--min-age", "0s", "--json"]],
  ["ops", ["work-claim", "ops", "stale:3", "--ttl", "1s"]],
  // gate list and gate forget: the marks read on the server, forgetting logged there.
  ["alice", ["gate", "list"]],
  ["alice", ["gate", "list", "--since", "1h", "--json"]],
  ["alice", ["gate", "list", "--since", "soon"]],
  ["bob", ["gate", "forget", "notify:x"]],
  ["bob", ["gate", "forget", "notify:x", "--json"]],
  ["alice", ["gate", "forget", "notify:y", "--json"]],
  ["alice", ["gate", "forget", "notify:never"]],
  ["alice", ["gate", "check", "notify:x", "--json"]],
  ["alice", ["gate", "list", "--json"]],
  ["alice", ["list", "--state", "abandoned", "--json"]],
];

/** The catalogue commands that run only here (git and the working tree): not registry commands. */
const WORKSPACE_ONLY = new Set(["probe", "sync-check"]);
/** Registry commands outside the catalogue table that go through a server too. */
const OTHERS = [
  "task block",
  "task unblock",
  "run",
  "check",
  "work-claim",
  "work-complete",
  "work-abandon",
  "work-list",
];

/** Times, durations and the scores that grow with a task's age differ between two runs; the rest must not. */
function masked(text: string): string {
  return text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
    .replace(/\b\d+(\.\d+)?(ms|s|m|h|d)\b/g, "<dur>")
    .replace(/"(age|total)":[0-9.e-]+/g, '"$1":<n>');
}

/** The command words of a row (`task list`, `gate mark`, `claim`). */
function words(args: readonly string[]): string {
  const two = ["task", "gate", "paths"].includes(args[0] ?? "");
  return args.slice(0, two ? 2 : 1).join(" ");
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe("every registry command prints and exits the same through BATON_URL as on a registry here", () => {
  const cwd = gitCheckout({ prefix: "baton-parity-", rules: "# Fleet rules\n\n1. Claim before you edit.\n" });
  const dir = tempDir("baton-parity-stores-");
  const localDb = join(dir, "local.db");
  const servedDb = join(dir, "served.db");
  const tokens = new Map<string, string>();
  let server: ServeProcess;

  beforeAll(async () => {
    for (const agent of ["alice", "bob", "ops"]) {
      const admin = agent === "ops" ? ["--admin"] : [];
      const r = await cliChained(["tokens", "add", agent, ...admin, "--json"], {
        env: { BATON_DB: servedDb },
        cwd: dir,
      });
      expect(r.code, r.stderr).toBe(0);
      tokens.set(agent, (JSON.parse(r.stdout) as { token: string }).token);
    }
    for (const db of [localDb, servedDb]) {
      for (const [agent, args] of SEED) {
        const r = await cliChained([...args], { env: { BATON_DB: db, BATON_AGENT: agent }, cwd });
        expect(r.code, r.stderr).toBe(0);
      }
    }
    // The seeded claims' own expiry, waited out: every row sees them expired on both sides.
    const expiries = await Promise.all(
      [localDb, servedDb].flatMap((db) =>
        ["stale:1", "stale:2"].map(async (key) => {
          const r = await cliAsync(["show", key, "--json"], { env: { BATON_DB: db }, cwd });
          return Date.parse((JSON.parse(r.stdout) as { claim: { expiresAt: string } }).claim.expiresAt);
        }),
      ),
    );
    await sleepUntil(Math.max(...expiries) + 1);
    server = await startServe({ BATON_DB: servedDb });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("has a row, with and without --json, for every registry command", () => {
    const commands = [
      ...Object.values(CLI_OPERATIONS)
        .map((spec) => spec.words)
        .filter((w) => !WORKSPACE_ONLY.has(w)),
      ...OTHERS,
    ];
    const missing = commands.flatMap((command) => {
      const rows = ROWS.filter(([, args]) => words(args) === command);
      return [
        ...(rows.some(([, args]) => !args.includes("--json")) ? [] : [`${command} (text)`]),
        ...(rows.some(([, args]) => args.includes("--json")) ? [] : [`${command} --json`]),
      ];
    });
    expect(missing).toEqual([]);
  });

  it("each row: the same stdout, stderr and exit code", async () => {
    const chain = async (env: (agent: string) => Record<string, string>): Promise<Run[]> => {
      const out: Run[] = [];
      for (const [agent, args] of ROWS) {
        const r = await cliChained([...args], { env: env(agent), cwd });
        out.push({ code: r.code, stdout: masked(r.stdout), stderr: masked(r.stderr) });
      }
      return out;
    };
    // The two chains share only the checkout, which no row writes to: side by side.
    const [here, there] = await Promise.all([
      chain((agent) => ({ BATON_DB: localDb, BATON_AGENT: agent })),
      chain((agent) => ({ BATON_URL: server.url, BATON_TOKEN: tokens.get(agent) ?? "", BATON_AGENT: agent })),
    ]);
    const differ = ROWS.flatMap(([agent, args], i) => {
      const what = `row ${i + 1}: ${agent} baton ${args.join(" ")}`;
      return JSON.stringify(here[i]) === JSON.stringify(there[i]) ? [] : [{ what, here: here[i], there: there[i] }];
    });
    expect(differ).toEqual([]);
    // Not a trivial pass: the rows grant, deny and refuse, and none answers REMOTE_UNSUPPORTED.
    const codes = new Set(here.map((r) => r.code));
    for (const code of [0, 1, 2]) expect(codes.has(code), `some row exits ${code}`).toBe(true);
    expect(there.some((r) => r.stdout.includes("REMOTE_UNSUPPORTED") || r.stderr.includes("through a server"))).toBe(
      false,
    );
  }, 300_000);

  it.each([
    ["the newest events, then new ones (--json, --kind)", ["--json", "--kind", "granted,released", "--limit", "3"]],
    ["every event after a cursor that --since keeps, then new ones", ["--after", "3", "--since", "1h"]],
  ])("log --follow: %s, the same lines; SIGINT exits 0", async (_what, extra) => {
    const follow = (env: Record<string, string>) => spawnCli(["log", "--follow", ...extra], env);
    const here = follow({ BATON_DB: localDb });
    const there = follow({ BATON_URL: server.url, BATON_TOKEN: tokens.get("alice") ?? "" });
    const key = `follow:${extra.length}`;
    // Both print what was there, then what happens after they started: the same claim on each side.
    await until("both followers printed the past", () => here.output().length > 0 && there.output().length > 0);
    const sides: Record<string, string>[] = [
      { BATON_DB: localDb, BATON_AGENT: "bob" },
      { BATON_URL: server.url, BATON_TOKEN: tokens.get("bob") ?? "" },
    ];
    for (const env of sides) {
      for (const verb of ["claim", "release"]) expect((await cliAsync([verb, key], { env, cwd })).code).toBe(0);
    }
    await until("both followers printed the release", () =>
      [here, there].every((f) => /released.*follow:|"kind":"released","key":"follow:/.test(f.output())),
    );
    here.child.kill("SIGINT");
    there.child.kill("SIGINT");
    const [a, b] = await Promise.all([here.done, there.done]);
    expect({ code: b.code, stdout: masked(b.stdout), stderr: b.stderr }).toEqual({
      code: a.code,
      stdout: masked(a.stdout),
      stderr: a.stderr,
    });
    expect(a.code).toBe(0);
  });
});

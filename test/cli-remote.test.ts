/**
 * The CLI against a server: every scenario runs twice — once on a local
 * registry (a PostgreSQL schema, or a SQLite file when PostgreSQL is not tested), once with
 * BATON_URL + BATON_TOKEN against a `baton serve` child on a fresh store of the same kind — and
 * each step must print the same stdout and stderr (times masked) and exit with the same code. Then what only a server does: the token decides the agent
 * (FORBIDDEN, nothing changed), commands without a server path say REMOTE_UNSUPPORTED
 * (nothing changed), no token is UNAUTHENTICATED, a server that is gone is exit 3.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliStores } from "./contract/targets.js";
import {
  type CliResult,
  cli,
  cliChained,
  dumpSqlite,
  gitCheckout,
  type ServeProcess,
  sleepUntil,
  startServe,
  tempDir,
} from "./helpers.js";

type Step = readonly [agent: string, args: readonly string[]];
interface Scenario {
  readonly name: string;
  /** Run in a git checkout with a rules file (path claims, context), the same one for both runs. */
  readonly checkout?: boolean;
  /** Run on the store file directly before the steps, in both runs (the backlog a scenario needs). */
  readonly seed?: readonly Step[];
  readonly steps: readonly Step[];
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: "claim, deny, show, list, renew, complete, done, verify, log",
    steps: [
      ["alice", ["claim", "task:1", "--ttl", "30m", "--meta", '{"pr":7}']],
      ["alice", ["claim", "task:1"]],
      ["bob", ["claim", "task:1"]],
      ["bob", ["claim", "task:2", "--ttl", "2h"]],
      ["alice", ["show", "task:1"]],
      ["alice", ["show", "task:none"]],
      ["alice", ["list"]],
      ["alice", ["list", "--mine"]],
      ["alice", ["list", "--prefix", "task:", "--limit", "1"]],
      ["alice", ["renew", "task:1", "--ttl", "2h"]],
      ["bob", ["renew", "task:1"]],
      ["bob", ["complete", "task:1"]],
      ["alice", ["complete", "task:1", "--result", "merged", "--commit", "abc1234"]],
      ["bob", ["claim", "task:1"]],
      ["bob", ["verify", "task:1", "--note", "tests pass"]],
      ["bob", ["verify", "task:2"]],
      ["alice", ["list", "--state", "completed,active"]],
      ["alice", ["log", "task:1"]],
      ["alice", ["log", "--agent", "bob", "--kind", "denied,granted"]],
      // Reads print the same JSON too (and writes: test/cli-remote-parity.test.ts runs each command).
      ["alice", ["show", "task:1", "--json"]],
      ["alice", ["show", "task:none", "--json"]],
      ["alice", ["list", "--state", "all", "--json"]],
      ["alice", ["log", "--json"]],
    ],
  },
  {
    name: "release, abandon, resolve, handoff, note",
    steps: [
      ["alice", ["claim", "a:1"]],
      ["alice", ["release", "a:1", "--commit", "abc1234"]],
      ["alice", ["release", "a:1"]],
      ["bob", ["claim", "a:1"]],
      ["bob", ["abandon", "a:1", "--reason", "blocked on review"]],
      ["alice", ["resolve", "a:1", "--note", "done elsewhere"]],
      ["alice", ["resolve", "a:1"]],
      ["alice", ["resolve", "a:never"]],
      ["alice", ["claim", "h:1"]],
      ["alice", ["note", "h:1", "half way: parser done"]],
      ["alice", ["handoff", "h:1", "--to", "bob", "--note", "your turn"]],
      ["alice", ["renew", "h:1"]],
      ["bob", ["handoff", "h:1", "--to", "bob"]],
      ["bob", ["complete", "h:1"]],
      ["alice", ["show", "h:1"]],
      ["alice", ["list", "--state", "all"]],
      ["alice", ["list", "--agent", "bob", "--state", "all"]],
      ["alice", ["log"]],
      // baton run: the claim and its lease through the server, the command here.
      [
        "alice",
        [
          "run",
          "r:1",
          "--result",
          "built",
          "--",
          process.execPath,
          "-e",
          "console.log(process.env.BATON_KEY, process.env.BATON_AGENT)",
        ],
      ],
      ["alice", ["run", "r:1", "--", process.execPath, "-e", "0"]],
      ["bob", ["run", "r:2", "--", process.execPath, "-e", "process.exit(3)"]],
      ["bob", ["run", "r:3", "--release", "--commit", "abc1234", "--", process.execPath, "-e", "0"]],
      ["alice", ["list", "--state", "all", "--prefix", "r:"]],
    ],
  },
  {
    name: "gates, next, supply",
    seed: [
      ["alice", ["task", "add", "t1", "--title", "low", "--priority", "10"]],
      ["alice", ["task", "add", "t2", "--title", "high", "--priority", "90"]],
      ["alice", ["task", "add", "t3", "--title", "after t2", "--blocked-by", "t2"]],
    ],
    steps: [
      ["alice", ["gate", "check", "notify:x"]],
      ["alice", ["gate", "mark", "notify:x", "--note", "sent"]],
      ["bob", ["gate", "check", "notify:x", "--window", "1h"]],
      ["bob", ["gate", "mark", "notify:x"]],
      ["alice", ["supply"]],
      ["alice", ["task", "add", "t4", "--title", "docs", "--category", "docs", "--priority", "60"]],
      ["alice", ["task", "add", "t4", "--title", "again"]],
      ["alice", ["task", "add", "t5", "--title", "blocked by nothing", "--blocked-by", "t9"]],
      ["alice", ["task", "show", "t3"]],
      ["alice", ["task", "show", "t9"]],
      ["alice", ["task", "list"]],
      ["alice", ["task", "list", "--state", "blocked"]],
      ["alice", ["task", "list", "--category", "docs"]],
      ["alice", ["task", "show", "t3", "--json"]],
      ["alice", ["task", "list", "--json"]],
      ["alice", ["gate", "check", "notify:x", "--json"]],
      ["alice", ["supply", "--json"]],
      // Seeded: the category sampling of next is random otherwise.
      ["bob", ["next", "--dry-run", "--seed", "1"]],
      ["bob", ["next", "--ttl", "1h", "--seed", "1"]],
      ["alice", ["next", "--category", "none", "--seed", "1"]],
      ["bob", ["complete", "task:t2", "--outcome", "success"]],
      ["alice", ["next", "--seed", "2"]],
      ["alice", ["next", "--seed", "3"]],
      ["alice", ["next", "--seed", "4"]],
      ["alice", ["supply"]],
      ["alice", ["task", "list", "--state", "done"]],
    ],
  },
  {
    name: "path claims, claim --paths, context and task edits, in a checkout",
    checkout: true,
    seed: [
      ["alice", ["task", "add", "t1", "--title", "one", "--priority", "10"]],
      ["alice", ["task", "add", "t2", "--title", "two"]],
    ],
    steps: [
      ["alice", ["paths", "claim", "src/auth/", "docs/*.md", "--reason", "auth rewrite"]],
      ["bob", ["paths", "claim", "src/auth/login.ts"]],
      ["bob", ["paths", "claim", "lib/", "--shared", "--ttl", "1h"]],
      ["bob", ["paths", "claim", "docs/a.md", "--advisory"]],
      ["alice", ["paths", "claim", "src/../../outside"]],
      ["alice", ["paths", "list"]],
      ["alice", ["paths", "list", "--mine"]],
      ["alice", ["paths", "list", "--agent", "bob", "--state", "active"]],
      ["alice", ["paths", "list", "--json"]],
      ["alice", ["paths", "renew", "--ttl", "2h"]],
      ["bob", ["paths", "renew", "src/auth/"]],
      ["bob", ["claim", "task:9", "--paths", "src/auth/x.ts"]],
      ["bob", ["claim", "task:9", "--paths", "tests/", "--reason", "tests first", "--ttl", "20m"]],
      ["bob", ["complete", "task:9"]],
      ["alice", ["paths", "release", "src/auth/", "--commit", "abc1234"]],
      ["alice", ["paths", "release"]],
      ["bob", ["paths", "release", "lib/"]],
      ["alice", ["paths", "list", "--state", "all"]],
      ["alice", ["paths", "list", "--all-repos", "--state", "all", "--json"]],
      ["alice", ["context"]],
      ["alice", ["context", "--json"]],
      ["alice", ["task", "update", "t1", "--title", "one, renamed", "--priority", "70", "--paths", "src/auth/"]],
      ["alice", ["task", "update", "t1", "--priority", "70"]],
      ["alice", ["task", "update", "t9", "--title", "x"]],
      ["alice", ["task", "update", "t1", "--blocked-by", "nope"]],
      ["alice", ["task", "block", "t1", "t2"]],
      ["alice", ["task", "show", "t1"]],
      ["alice", ["task", "unblock", "t1", "t2"]],
      ["bob", ["claim", "task:t2"]],
      ["alice", ["task", "done", "t2"]],
      ["alice", ["task", "done", "t9"]],
      ["alice", ["task", "reopen", "t2"]],
      [
        "alice",
        ["task", "add", "t3", "--title", "three", "--paths", "docs/", "--assignee", "bob", "--meta", '{"a":1}'],
      ],
      ["alice", ["task", "show", "t3", "--json"]],
      ["alice", ["task", "list", "--json"]],
      // next claims a task's paths in this checkout's repository (the server's is another, or none).
      ["alice", ["task", "add", "t4", "--title", "four", "--paths", "lib/", "--priority", "99"]],
      ["bob", ["next", "--seed", "1"]],
      ["bob", ["paths", "list", "--mine"]],
      ["alice", ["log", "--kind", "granted,released,completed,denied,reopened"]],
    ],
  },
  {
    name: "bad input is refused the same way (nothing reaches the store)",
    steps: [
      ["alice", ["claim", ""]],
      ["alice", ["claim", "k:1", "--ttl", "soon"]],
      ["alice", ["claim", "k:1", "--meta", "[1]"]],
      ["alice", ["complete", "k:1", "--outcome", "great"]],
      ["alice", ["list", "--state", "sideways"]],
      ["alice", ["list", "--mine", "--agent", "bob"]],
      ["alice", ["log", "--kind", "exploded"]],
      ["alice", ["handoff", "k:1", "--to", "bad name!"]],
      ["alice", ["note", "k:1", " "]],
      ["alice", ["claim", "", "--json"]],
      ["alice", ["list", "--state", "sideways", "--json"]],
      ["alice", ["list"]],
    ],
  },
];

/** Times and relative times differ between two runs; the rest must not. */
function masked(text: string): string {
  return text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
    .replace(/(expires in|expired|completed|released|abandoned) \d+(\.\d+)?(ms|s|m|h|d)( ago)?/g, "$1 <dur>")
    .replace(/\bin \d+(ms|s|m|h|d)\b/g, "in <dur>")
    .replace(/\b\d+(\.\d+)?(ms|s|m|h|d) ago\b/g, "<dur> ago");
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function runSteps(
  steps: readonly Step[],
  env: (agent: string) => Record<string, string>,
  cwd: string,
): Promise<Run[]> {
  const out: Run[] = [];
  for (const [agent, args] of steps) {
    const r: CliResult = await cliChained([...args], { env: env(agent), cwd });
    out.push({ code: r.code, stdout: masked(r.stdout), stderr: masked(r.stderr) });
  }
  return out;
}

/** A fresh server on `store` (default: its own SQLite file), with a token for each agent. */
async function serverWith(
  agents: readonly string[],
  seed: readonly Step[] = [],
  store?: Record<string, string>,
): Promise<{ server: ServeProcess; db: string; tokens: Map<string, string> }> {
  const dir = tempDir();
  const db = join(dir, "served.db");
  const env = store ?? { BATON_DB: db };
  const tokens = new Map<string, string>();
  for (const agent of agents) {
    const r = await cliChained(["tokens", "add", agent, "--json"], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    tokens.set(agent, (JSON.parse(r.stdout) as { token: string }).token);
  }
  for (const [agent, args] of seed)
    expect((await cliChained([...args], { env: { ...env, BATON_AGENT: agent }, cwd: dir })).code).toBe(0);
  return { server: await startServe(env), db, tokens };
}

/**
 * Each scenario on one store: PostgreSQL when this run tests it, else SQLite. What the CLI
 * prints is the API's answer either way (the contract suite's HTTP target runs on both stores),
 * and test/cli-remote-parity.test.ts runs every command on SQLite here and through a server,
 * so the scenarios' ~280 CLI processes a store are spent once.
 */
const STORES = cliStores("remote");
const CASES = STORES.slice(-1).flatMap(([store, fresh]) =>
  SCENARIOS.map((scenario) => ({ store, fresh, scenario, name: `${store}: ${scenario.name}` })),
);

describe("the CLI through BATON_URL prints what it prints on a local registry", () => {
  it.each(CASES)(
    "$name",
    async ({ fresh, scenario }) => {
      const cwd =
        scenario.checkout === true
          ? gitCheckout({ prefix: "baton-remote-checkout-", rules: "# Fleet rules\n\n1. Claim before you edit.\n" })
          : tempDir();
      // The two runs share nothing but the folder (each its own fresh store), so they run side
      // by side, each a chain of CLI calls (cliChained: in threads, one call at a time anyway);
      // in a git checkout (whose files a run may touch) one after the other.
      const locally = async (): Promise<Run[]> => {
        const local = fresh();
        for (const [agent, args] of scenario.seed ?? []) {
          expect((await cliChained([...args], { env: { ...local, BATON_AGENT: agent }, cwd })).code).toBe(0);
        }
        return runSteps(scenario.steps, (agent) => ({ ...local, BATON_AGENT: agent }), cwd);
      };
      const throughServer = async (): Promise<Run[]> => {
        const { server, tokens } = await serverWith(["alice", "bob"], scenario.seed, fresh());
        try {
          const env = (agent: string) => ({
            BATON_URL: server.url,
            BATON_TOKEN: tokens.get(agent) ?? "",
            BATON_AGENT: agent,
          });
          return await runSteps(scenario.steps, env, cwd);
        } finally {
          await server.stop();
        }
      };
      const [here, there] =
        scenario.checkout === true
          ? [await locally(), await throughServer()]
          : await Promise.all([locally(), throughServer()]);
      scenario.steps.forEach(([agent, args], i) => {
        const what = `step ${i + 1}: ${agent} baton ${args.join(" ")}`;
        expect({ step: what, ...there[i] }).toEqual({ step: what, ...here[i] });
      });
      // Not a trivial pass: the scenarios grant, deny and refuse.
      expect(new Set(here.map((r) => r.code)).size).toBeGreaterThan(1);
    },
    300_000,
  ); // two dozen CLI calls per run, twice, on a loaded machine
});

describe("what only a server decides", () => {
  let served: Awaited<ReturnType<typeof serverWith>>;
  const cwd = tempDir();
  beforeAll(async () => {
    served = await serverWith(["alice", "bob"]);
  });
  afterAll(async () => {
    await served.server.stop();
  });
  const remote = (agent: string, extra: Record<string, string> = {}) => ({
    BATON_URL: served.server.url,
    BATON_TOKEN: served.tokens.get(agent) ?? "",
    ...extra,
  });

  it("the token decides the agent: --as or BATON_AGENT naming another is FORBIDDEN, nothing changed; without a name the token's agent acts", async () => {
    const before = dumpSqlite(served.db);
    const forbidden = cli(["claim", "k:f", "--as", "bob", "--json"], { env: remote("alice"), cwd });
    expect(forbidden.code).toBe(2);
    expect(JSON.parse(forbidden.stdout)).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    const viaEnv = cli(["complete", "k:f"], { env: remote("alice", { BATON_AGENT: "bob" }), cwd });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toContain("cannot act as");
    expect(dumpSqlite(served.db)).toBe(before);
    const mine = cli(["claim", "k:f"], { env: remote("bob"), cwd });
    expect(mine.code, mine.stderr).toBe(0);
    const shown = cli(["show", "k:f"], { env: remote("alice"), cwd });
    expect(shown.stdout).toContain("holder:   bob");
  });

  it("a seed verb's SESSION is the agent: another than the token's is FORBIDDEN, nothing changed; an admin's token may name any", async () => {
    const before = dumpSqlite(served.db);
    for (const args of [
      ["work-claim", "bob", "w:f"],
      ["work-complete", "bob", "w:f"],
      ["work-abandon", "bob", "w:f", "--reason", "no"],
    ]) {
      const r = cli([...args, "--json"], { env: remote("alice"), cwd });
      expect(r.code, args.join(" ")).toBe(2);
      expect(JSON.parse(r.stdout), args.join(" ")).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    }
    expect(dumpSqlite(served.db)).toBe(before);
    const added = cli(["tokens", "add", "ops", "--admin", "--json"], { env: { BATON_DB: served.db }, cwd });
    expect(added.code, added.stderr).toBe(0);
    const admin = { BATON_URL: served.server.url, BATON_TOKEN: (JSON.parse(added.stdout) as { token: string }).token };
    const claimed = cli(["work-claim", "bob", "w:f", "--ttl", "30"], { env: admin, cwd });
    expect(claimed, claimed.stderr).toMatchObject({ code: 0, stdout: "claimed w:f (expires in 30 min)\n" });
    expect(cli(["show", "w:f"], { env: remote("alice"), cwd }).stdout).toContain("holder:   bob");
    const done = cli(["work-complete", "bob", "w:f"], { env: remote("bob"), cwd });
    expect(done).toMatchObject({ code: 0, stdout: "completed w:f\n" });
  });

  it("reap is an admin token's: an agent's is FORBIDDEN (nothing changed), an admin's reaps, logged as by its agent", async () => {
    const claimed = cli(["claim", "r:stale", "--ttl", "1s", "--json"], { env: remote("alice"), cwd });
    expect(claimed.code, claimed.stderr).toBe(0);
    await sleepUntil(Date.parse((JSON.parse(claimed.stdout) as { claim: { expiresAt: string } }).claim.expiresAt) + 1);
    const before = dumpSqlite(served.db);
    for (const args of [
      ["reap", "--min-age", "0s"],
      ["work-reap", "--min-age-hours", "0"],
    ]) {
      const r = cli([...args, "--json"], { env: remote("alice"), cwd });
      expect(r.code, args.join(" ")).toBe(2);
      expect(JSON.parse(r.stdout), args.join(" ")).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    }
    expect(dumpSqlite(served.db)).toBe(before);
    const added = cli(["tokens", "add", "reaper", "--admin", "--json"], {
      env: { BATON_DB: served.db },
      cwd,
    });
    const admin = { BATON_URL: served.server.url, BATON_TOKEN: (JSON.parse(added.stdout) as { token: string }).token };
    const reaped = cli(["reap", "--min-age", "0s"], { env: admin, cwd });
    expect(reaped.code, reaped.stderr).toBe(0);
    expect(reaped.stdout).toMatch(/^reaped \d+ stale claims? \(expired >0ms\) -> abandoned\n/);
    expect(reaped.stdout).toContain("  loose end: r:stale  (alice, token ");
    const log = cli(["log", "r:stale", "--kind", "reaped", "--json"], { env: remote("alice"), cwd });
    expect(JSON.parse(log.stdout).events).toMatchObject([
      { kind: "reaped", key: "r:stale", agent: "alice", detail: { by: "reaper" } },
    ]);
  });

  it("gate forget through a server: the marker file here is removed, the server's mark forgotten (logged)", async () => {
    const markers = join(tempDir(), "marks");
    const env = { ...remote("alice"), BATON_MARKER_DIR: markers };
    const ran = cli(["gate", "run", "notify:fm", "--", process.execPath, "-e", "1"], { env, cwd });
    expect(ran.code, ran.stderr).toBe(0);
    expect(readdirSync(markers)).toHaveLength(1);
    const forgot = cli(["gate", "forget", "notify:fm"], { env, cwd });
    expect(forgot).toMatchObject({
      code: 0,
      stdout: "forgot the mark of gate:notify:fm (logged) and its marker file\n",
    });
    expect(readdirSync(markers)).toHaveLength(0);
    const again = cli(["gate", "forget", "notify:fm", "--json"], { env, cwd });
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toEqual({ ok: false, message: "nothing to forget: gate:notify:fm has no mark" });
    const check = cli(["gate", "check", "notify:fm"], { env: remote("bob"), cwd });
    expect(check.code, check.stdout).toBe(0);
  });

  it("commands without a server path say REMOTE_UNSUPPORTED and change nothing", async () => {
    const before = dumpSqlite(served.db);
    // tokens and db are the store itself (local by design); probe and sync-check read this checkout.
    for (const args of [
      ["tokens", "list"],
      ["db", "status"],
      ["db", "migrate"],
      ["probe", "src/"],
      ["sync-check"],
      ["gate", "mark", "notify:m", "--marker-dir", "."],
    ]) {
      const r = cli([...args, "--json"], { env: remote("alice", { BATON_AGENT: "alice" }), cwd });
      expect(r.code, args.join(" ")).toBe(2);
      expect(JSON.parse(r.stdout), args.join(" ")).toMatchObject({ ok: false, error: { code: "REMOTE_UNSUPPORTED" } });
    }
    expect(dumpSqlite(served.db)).toBe(before);
    // --db on the command line is a registry here, whatever BATON_URL says.
    const here = join(tempDir(), "here.db");
    const local = cli(["claim", "k:here", "--db", here, "--as", "alice"], { env: remote("alice"), cwd });
    expect(local.code, local.stderr).toBe(0);
    expect(dumpSqlite(here)).toContain("k:here");
    expect(dumpSqlite(served.db)).toBe(before);
  });

  it("no token is UNAUTHENTICATED (exit 2); a server that is gone is STORE_UNAVAILABLE (exit 3)", async () => {
    const none = cli(["show", "k:f", "--json"], { env: { BATON_URL: served.server.url }, cwd });
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout)).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
    const wrong = cli(["show", "k:f", "--url", served.server.url, "--token", "not-a-token", "--json"], {
      cwd,
    });
    expect(JSON.parse(wrong.stdout)).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
    const gone = cli(["show", "k:f", "--json"], {
      env: { BATON_URL: "http://127.0.0.1:1", BATON_TOKEN: "x" },
      cwd,
    });
    expect(gone.code).toBe(3);
    expect(JSON.parse(gone.stdout)).toMatchObject({ error: { code: "STORE_UNAVAILABLE" } });
  });
});

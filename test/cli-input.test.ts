/**
 * The built CLI end to end: configuration precedence, and bad input or settings that exit
 * 2 and change nothing (helpers: test/cli-helpers.ts). Where the database lives by
 * default: test/registry-location.test.ts.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { coordination, dbEnv, type Env, j, keys, one, snapshot, withJson } from "./cli-helpers.js";
import { CLI, cli, tempDir } from "./helpers.js";

describe("configuration", () => {
  it("resolves flags > environment > .baton/config.json > defaults", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".baton"));
    writeFileSync(
      join(dir, ".baton", "config.json"),
      JSON.stringify({ agent: "file-agent", db: "from-file.db", defaultTtl: "5m" }),
    );
    const sub = join(dir, "a", "b");
    mkdirSync(sub, { recursive: true });
    const fileDb = { BATON_DB: join(dir, "from-file.db") };
    // File only (found from a subfolder; its db is relative to the folder holding .baton/).
    const fromFile = j(["claim", "t:1"], {}, 0, { cwd: sub });
    expect(fromFile.claim.agent).toBe("file-agent");
    expect(Date.parse(fromFile.claim.expiresAt) - Date.parse(fromFile.claim.claimedAt)).toBe(300_000);
    expect(existsSync(join(dir, "from-file.db"))).toBe(true);
    expect(existsSync(join(sub, "from-file.db"))).toBe(false);
    // Environment beats the file.
    const envDb = join(dir, "from-env.db");
    const fromEnv = j(["claim", "t:2"], { BATON_AGENT: "env-agent", BATON_DB: envDb }, 0, { cwd: sub });
    expect(fromEnv.claim.agent).toBe("env-agent");
    expect(keys(j(["list"], { BATON_DB: envDb }).claims)).toEqual(["t:2"]);
    expect(keys(j(["list"], fileDb).claims)).toEqual(["t:1"]);
    // Flags beat the environment (and --ttl beats defaultTtl).
    const flagDb = join(dir, "from-flag.db");
    const fromFlag = j(
      ["claim", "t:3", "--as", "flag-agent", "--db", flagDb, "--ttl", "2h"],
      { BATON_AGENT: "env-agent", BATON_DB: envDb },
      0,
      { cwd: sub },
    );
    expect(fromFlag.claim.agent).toBe("flag-agent");
    expect(Date.parse(fromFlag.claim.expiresAt) - Date.parse(fromFlag.claim.claimedAt)).toBe(7_200_000);
    expect(keys(j(["list"], { BATON_DB: flagDb }).claims)).toEqual(["t:3"]);
    expect(keys(j(["list"], { BATON_DB: envDb }).claims)).toEqual(["t:2"]);
    // Defaults: no file, no env: 60 minutes, and an agent is required.
    const plain = tempDir();
    expect(j(["claim", "t:4"], {}, 2, { cwd: plain }).error.code).toBe("MISSING_AGENT");
    const d = j(["claim", "t:4", "--as", "x"], {}, 0, { cwd: plain }).claim;
    expect(Date.parse(d.expiresAt) - Date.parse(d.claimedAt)).toBe(3_600_000);
    // BATON_CONFIG names the file explicitly.
    const explicit = join(plain, "baton.json");
    writeFileSync(explicit, JSON.stringify({ agent: "explicit-agent" }));
    expect(j(["claim", "t:5"], { BATON_CONFIG: explicit }, 0, { cwd: plain }).claim.agent).toBe("explicit-agent");
  });

  it("a bad config file or setting exits 2 (BAD_CONFIG) and changes nothing", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".baton"));
    const env = { BATON_DB: join(dir, "c.db") };
    j(["claim", "t:1", "--as", "a"], env, 0, { cwd: dir });
    const before = snapshot(env);
    const bad: [string, string][] = [
      ['{"agnet":"typo"}', "unknown setting agnet"],
      ["{not json", "cannot read the config file"],
      ['{"agent":42}', "agent: expected string"],
      ['{"sqliteSync":"sometimes"}', "sqliteSync"],
    ];
    for (const [text, message] of bad) {
      writeFileSync(join(dir, ".baton", "config.json"), text);
      const r = j(["claim", "t:2", "--as", "a"], env, 2, { cwd: dir });
      expect(r.error.code, text).toBe("BAD_CONFIG");
      expect(r.error.message, text).toContain(message);
    }
    writeFileSync(join(dir, ".baton", "config.json"), "{}");
    expect(
      j(["claim", "t:2", "--as", "a"], { ...env, BATON_SQLITE_SYNC: "sometimes" }, 2, { cwd: dir }).error.code,
    ).toBe("BAD_CONFIG");
    expect(
      j(["claim", "t:2", "--as", "a"], { ...env, BATON_CONFIG: join(dir, "missing.json") }, 2, { cwd: dir }).error.code,
    ).toBe("BAD_CONFIG");
    expect(
      j(["claim", "t:2", "--as", "a"], { ...env, BATON_DATABASE_URL: "mysql://x" }, 2, { cwd: dir }).error.code,
    ).toBe("BAD_CONFIG");
    expect(
      j(["claim", "t:2", "--as", "a", "--db", "x.db", "--database-url", "postgres://x/y"], env, 2, { cwd: dir }).error
        .code,
    ).toBe("BAD_OPTION");
    expect(snapshot(env)).toBe(before);
  });
});

describe("bad input", () => {
  const marker = join(tempDir(), "ran");
  const node = process.execPath;
  const touch = ["--", node, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`];
  const cases: [string, string[], string, Env?][] = [
    ["control character in a key", ["claim", "bad\u0001key", "--as", "a"], "BAD_KEY"],
    ["600-character key", ["claim", "k".repeat(600), "--as", "a"], "BAD_KEY"],
    ["blank key", ["claim", "   ", "--as", "a"], "BAD_KEY"],
    ["bad key on show", ["show", "x\u0007"], "BAD_KEY"],
    ["bad key on check", ["check", "k".repeat(513), "--token", "1"], "BAD_KEY"],
    ["agent with a space", ["claim", "task:2", "--as", "bad agent"], "BAD_AGENT"],
    ["129-character agent", ["claim", "task:2", "--as", "a".repeat(129)], "BAD_AGENT"],
    ["bad BATON_AGENT", ["claim", "task:2"], "BAD_AGENT", { BATON_AGENT: "no!" }],
    ["bad --agent on list", ["list", "--agent", "a b"], "BAD_AGENT"],
    ["bad --as on reap", ["reap", "--as", "a b"], "BAD_AGENT"],
    ["--ttl 5x", ["claim", "task:2", "--as", "a", "--ttl", "5x"], "BAD_DURATION"],
    ["--ttl 0", ["claim", "task:2", "--as", "a", "--ttl", "0"], "BAD_DURATION"],
    ["--ttl over ten years", ["claim", "task:2", "--as", "a", "--ttl", "5000d"], "BAD_DURATION"],
    ["--ttl on renew", ["renew", "task:1", "--as", "a", "--ttl", "soon"], "BAD_DURATION"],
    ["--ttl on run", ["run", "task:2", "--as", "a", "--ttl", "5x", ...touch], "BAD_DURATION"],
    ["--ttl on work-claim", ["work-claim", "s", "task:2", "--ttl", "1y"], "BAD_DURATION"],
    ["--since", ["log", "--since", "whenever"], "BAD_DURATION"],
    ["negative --min-age", ["reap", "--min-age", "-1h"], "BAD_DURATION"],
    ["--min-age-hours", ["work-reap", "--min-age-hours", "abc"], "BAD_DURATION"],
    ["--meta not JSON", ["claim", "task:2", "--as", "a", "--meta", "{oops"], "BAD_META"],
    ["--meta not an object", ["claim", "task:2", "--as", "a", "--meta", "[1]"], "BAD_META"],
    [
      "--meta over 16 KiB",
      ["claim", "task:2", "--as", "a", "--meta", JSON.stringify({ x: "y".repeat(17_000) })],
      "BAD_META",
    ],
    ["--commit not hex", ["complete", "task:1", "--as", "a", "--commit", "nope"], "BAD_INPUT"],
    ["--result too long", ["complete", "task:1", "--as", "a", "--result", "r".repeat(5000)], "BAD_INPUT"],
    ["--reason too long", ["abandon", "task:1", "--as", "a", "--reason", "r".repeat(5000)], "BAD_INPUT"],
    ["run without a command", ["run", "task:2", "--as", "a"], "BAD_INPUT"],
    [
      "run a command that does not exist",
      ["run", "task:2", "--as", "a", "--", "no-such-command-baton-test"],
      "BAD_INPUT",
    ],
    ["--token not a number", ["check", "task:1", "--token", "abc"], "BAD_TOKEN"],
    ["--token 0", ["check", "task:1", "--token", "0"], "BAD_TOKEN"],
    ["--token missing", ["check", "task:1"], "BAD_OPTION"],
    ["bad --state", ["list", "--state", "sideways"], "BAD_OPTION"],
    ["bad --limit", ["list", "--limit", "many"], "BAD_OPTION"],
    ["--limit 0 on log", ["log", "--limit", "0"], "BAD_OPTION"],
    ["bad --kind", ["log", "--kind", "exploded"], "BAD_OPTION"],
    ["--mine with --agent", ["list", "--mine", "--agent", "b", "--as", "a"], "BAD_OPTION"],
    ["bad --similar", ["claim", "task:2", "--as", "a", "--similar", "maybe"], "BAD_OPTION"],
    ["bad --outcome", ["complete", "task:1", "--as", "a", "--outcome", "meh"], "BAD_OPTION"],
    ["unknown option", ["claim", "task:2", "--as", "a", "--bogus"], "BAD_OPTION"],
    ["missing argument", ["claim", "--as", "a"], "BAD_OPTION"],
    ["missing seed argument", ["work-claim", "s"], "BAD_OPTION"],
    ["unknown command", ["frobnicate"], "UNKNOWN_COMMAND"],
    ["bad seed session", ["work-claim", "bad session", "task:2"], "BAD_AGENT"],
    ["missing agent", ["claim", "task:2"], "MISSING_AGENT"],
  ];

  it("each exits 2 with its stable code in one JSON object, and the database is unchanged", () => {
    const env = dbEnv();
    j(["claim", "task:1", "--as", "a", "--meta", '{"n":1}'], env);
    j(["claim", "task:1", "--as", "b"], env, 1);
    const before = snapshot(env);
    for (const [what, args, code, extra] of cases) {
      const r = cli(withJson(args), { env: { ...env, ...extra } });
      expect(r.code, `${what}: ${r.stdout}${r.stderr}`).toBe(2);
      const value = one(r);
      expect(value, what).toMatchObject({ ok: false, error: { code } });
      expect(typeof value.error.message, what).toBe("string");
    }
    expect(existsSync(marker)).toBe(false);
    expect(snapshot(env)).toBe(before);
  });

  it("each exits 2 with a message on stderr, prints nothing on stdout, and never creates a database", () => {
    const dir = tempDir();
    const env = { BATON_DB: join(dir, "never.db") };
    for (const [what, args, , extra] of cases) {
      const r = cli(args, { env: { ...env, ...extra } });
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stdout, what).toBe("");
      expect(r.stderr, what).toMatch(/^Error: \S/);
    }
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, "never.db"))).toBe(false);
  });

  it("the unknown command points at the program's own --help; under coordination too", () => {
    const env = dbEnv();
    for (const [name, bin] of [
      ["baton", CLI],
      ["coordination", coordination()],
    ] as const) {
      const r = cli(["frobnicate"], { env, bin });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^Error: unknown command 'frobnicate'/);
      expect(r.stderr).toContain(`(run ${name} --help for the list)`);
      expect(cli(["work-claim", "bad session", "k", "--json"], { env, bin })).toMatchObject({ code: 2 });
    }
    expect(existsSync(env.BATON_DB as string)).toBe(false);
  });
});

describe("invalid settings", () => {
  it("names the variable or the config file for a bad duration setting (BAD_CONFIG), creating nothing", () => {
    const dir = tempDir();
    const db = join(dir, "never.db");
    const env = cli(["claim", "k", "--as", "a", "--json"], { env: { BATON_DB: db, BATON_BUSY_TIMEOUT: "bogus" } });
    expect(env.code).toBe(2);
    expect(JSON.parse(env.stdout).error).toMatchObject({ code: "BAD_CONFIG" });
    expect(JSON.parse(env.stdout).error.message).toContain("BATON_BUSY_TIMEOUT");
    mkdirSync(join(dir, ".baton"));
    writeFileSync(join(dir, ".baton", "config.json"), JSON.stringify({ defaultTtl: "bogus" }));
    const file = cli(["claim", "k", "--as", "a", "--json", "--db", db], { cwd: dir });
    expect(file.code).toBe(2);
    expect(JSON.parse(file.stdout).error.message).toContain("defaultTtl in");
    expect(existsSync(db)).toBe(false);
  });
});

describe("tokens revoke", () => {
  it("revokes by id or by agent; a target matching no live token is NOT_FOUND (exit 1) and changes nothing", () => {
    const env = { BATON_DB: join(tempDir(), "tokens.db") };
    const added = JSON.parse(cli(["tokens", "add", "alice", "--json"], { env }).stdout) as { ok: boolean };
    expect(added.ok).toBe(true);
    const none = cli(["tokens", "revoke", "bob", "--json"], { env });
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stdout)).toEqual({ ok: false, revoked: [], code: "NOT_FOUND" });
    const listed = cli(["tokens", "list", "--json"], { env }).stdout;
    const revoked = cli(["tokens", "revoke", "alice"], { env });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked token \d+ \(alice\)/);
    expect(cli(["tokens", "revoke", "alice"], { env }).stdout).toContain("no live token matches alice");
    expect(listed).toContain("alice");
  });
});

/**
 * Hostile input (issue 11, hole 4): keys and agents with invisible or format characters,
 * lone surrogates and invalid UTF-8 (raw bytes through argv and files); metadata nested
 * too deep, and rows written straight into the database that no reader may crash on;
 * path patterns through symbolic links; task import of odd numbers, binary files and
 * front-matter keys that name Object.prototype members. Then the battery: fast-check
 * feeds random input to every CLI command and library method, and every refusal is a
 * known code with every table byte-for-byte unchanged.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/baton.js";
import { ERROR_CODES, isBatonError } from "../src/core/errors.js";
import { findUnsafeChar, parseAgent, parseKey, parseToken } from "../src/core/identity.js";
import { parseDuration } from "../src/core/duration.js";
import {
  durationMs,
  MAX_META_DEPTH,
  parseCommit,
  parseLimit,
  parseMeta,
  parseText,
  readStoredObject,
} from "../src/core/schemas.js";
import { readGithubTasks } from "../src/workspace/task-import.js";
import { freshSchema, storeSelected, testDatabaseUrl } from "./contract/targets.js";
import { CLI, type CliResult, cleanEnv, cli, dumpSqlite, tempDir } from "./helpers.js";

// JSON answers are checked field by field.
type Json = Record<string, any>;

/** Every table of a SQLite file (or "(no database)"): what "nothing changed" compares. */
function dump(db: string): string {
  return existsSync(db) ? dumpSqlite(db) : "(no database)";
}

/** `\ooo` escapes of every byte, for printf. */
const octal = (bytes: Buffer): string => [...bytes].map((b) => `\\${b.toString(8).padStart(3, "0")}`).join("");

/**
 * Run the CLI with arguments given as raw bytes. Node would turn a Buffer argument into
 * UTF-8 text on this side (invalid bytes become U+FFFD before the child sees them), so a
 * shell's printf builds each argument and the child gets exactly these bytes in argv.
 */
function rawCli(args: readonly (string | Buffer)[], env: Record<string, string>, cwd?: string): CliResult {
  const words = args.map((arg) => `"$(printf '${octal(Buffer.isBuffer(arg) ? arg : Buffer.from(arg))}')"`);
  const result = spawnSync("/bin/sh", ["-c", `exec "$0" "$1" ${words.join(" ")}`, process.execPath, CLI], {
    cwd: cwd ?? tempDir(),
    env: cleanEnv(env),
    encoding: "utf8",
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const json = (r: CliResult): Json => JSON.parse(r.stdout) as Json;
/** The error object of a refused `--json` call. */
const err = (r: CliResult): Json => json(r).error as Json;
const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

/** A database with one live claim and one event, so "unchanged" has something to compare. */
function seeded(): { db: string; env: Record<string, string> } {
  const db = join(tempDir(), "hostile.db");
  const env = { BATON_DB: db };
  expect(cli(["claim", "task:42", "--as", "alice", "--json"], { env }).code).toBe(0);
  return { db, env };
}

// Characters that render as nothing, or as a plain space, or mark lost bytes.
const INVISIBLE: readonly [string, string][] = [
  ["\u200B", "zero-width space"],
  ["\u200C", "zero-width non-joiner"],
  ["\u200D", "zero-width joiner"],
  ["\u2060", "word joiner"],
  ["\uFEFF", "byte order mark inside"],
  ["\u202E", "right-to-left override"],
  ["\u2066", "left-to-right isolate"],
  ["\u061C", "Arabic letter mark"],
  ["\u00AD", "soft hyphen"],
  ["\u180E", "Mongolian vowel separator"],
  ["\u2028", "line separator"],
  ["\u2029", "paragraph separator"],
  ["\u00A0", "no-break space"],
  ["\u3000", "ideographic space"],
  ["\uFE0F", "variation selector 16"],
  ["\u{E0041}", "tag latin capital A"],
  ["\uFFFD", "replacement character"],
  ["\uFFFE", "noncharacter"],
  ["\u0085", "next line (C1)"],
  ["\u001B", "escape"],
];

describe("hole 4: keys and agent names", () => {
  it("refuses every invisible, format, separator and replacement character in a key, in the library", () => {
    for (const [char, what] of INVISIBLE) {
      let caught: unknown;
      try {
        parseKey(`task:4${char}2`);
      } catch (error) {
        caught = error;
      }
      expect(isBatonError(caught) && caught.code, what).toBe("BAD_KEY");
      // The message shows the character escaped, never raw.
      expect((caught as Error).message, what).toContain(`\\u{${(char.codePointAt(0) as number).toString(16)}}`);
    }
    // Lone surrogates cannot arrive through argv, but can through the library.
    for (const lone of ["task:\uD800", "task:\uDC00x", "\uDBFFtask"])
      expect(() => parseKey(lone)).toThrow(/lone surrogate/);
    // Visible text stays a key: accents (NFC), CJK, emoji without selectors, plain spaces.
    for (const fine of ["topic:café", "topic:日本語", "topic:🚀 launch", "github:o/r#1", "topic:a b"]) {
      expect(findUnsafeChar(parseKey(fine))).toBeNull();
    }
    expect(parseKey("topic:cafe\u0301")).toBe("topic:caf\u00e9");
  });

  it("refuses them in agent names too", () => {
    for (const [char, what] of INVISIBLE) expect(() => parseAgent(`ali${char}ce`), what).toThrow(/invalid agent name/);
  });

  it("the library refuses task:4\\u200B2 while task:42 is held, and changes nothing", async () => {
    const { db } = seeded();
    const before = dump(db);
    const baton = await openBaton({ db });
    try {
      await expect(baton.claim("task:4\u200B2", { as: "bob" })).rejects.toMatchObject({ code: "BAD_KEY" });
      await expect(baton.claim("task:\uD800", { as: "bob" })).rejects.toMatchObject({ code: "BAD_KEY" });
      await expect(baton.claim("task:7", { as: "b\u200Bob" })).rejects.toMatchObject({ code: "BAD_AGENT" });
    } finally {
      await baton.close();
    }
    expect(dump(db)).toBe(before);
  });

  it("raw invalid UTF-8 in argv is refused: u:\\xff and u:\\xfe never become one key u:\\uFFFD", () => {
    const { db, env } = seeded();
    const before = dump(db);
    for (const key of [
      bytes("u:", [0xff]),
      bytes("u:", [0xfe]),
      bytes("task:", [0xc3]),
      bytes("task:", [0xed, 0xa0, 0x80]),
    ]) {
      const r = rawCli(["claim", key, "--as", "bob", "--json"], env);
      expect(r.code, r.stderr).toBe(2);
      expect(err(r).code).toBe("BAD_KEY");
      expect(err(r).message).toMatch(/not valid UTF-8/);
    }
    // Invisible characters as UTF-8 bytes in argv, against a held task:42 (the library test covers them all).
    for (const [char, what] of INVISIBLE.filter(([c]) =>
      ["\u200B", "\u202E", "\u2028", "\uFEFF", "\u00A0"].includes(c),
    )) {
      const r = rawCli(["claim", Buffer.from(`task:4${char}2`), "--as", "bob", "--json"], env);
      expect(r.code, `${what}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(err(r).code, what).toBe("BAD_KEY");
    }
    // And an agent name of raw bytes.
    const agent = rawCli(["claim", "task:9", "--as", bytes("bob", [0xff]), "--json"], env);
    expect(agent.code).toBe(2);
    expect(err(agent).code).toBe("BAD_AGENT");
    expect(dump(db)).toBe(before);
  });
});

/** `{"a":[[[…1…]]]}`: one object around `depth - 1` arrays (2 bytes a level). */
const deepText = (depth: number): string => `{"a":${"[".repeat(depth - 1)}1${"]".repeat(depth - 1)}}`;

describe("hole 4: metadata nesting", () => {
  it(`refuses metadata nested deeper than ${MAX_META_DEPTH} levels; ${MAX_META_DEPTH} is fine`, () => {
    expect(parseMeta(deepText(MAX_META_DEPTH))).not.toBeNull();
    expect(() => parseMeta(deepText(MAX_META_DEPTH + 1))).toThrow(/nested deeper than 32/);
    // As an object from the library: deep, and circular; never a RangeError.
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    for (const value of [deep, circular]) {
      let caught: unknown;
      try {
        parseMeta(value);
      } catch (error) {
        caught = error;
      }
      expect(isBatonError(caught) && caught.code).toBe("BAD_META");
    }
  });

  it("8 KB of nesting 4,150 deep is refused by claim --meta and task add --meta, and nothing changes", () => {
    const { db, env } = seeded();
    const before = dump(db);
    const meta = deepText(4150);
    expect(Buffer.byteLength(meta)).toBeLessThan(16 * 1024);
    for (const args of [
      ["claim", "task:7", "--as", "bob", "--meta", meta],
      ["task", "add", "t1", "--title", "x", "--as", "bob", "--meta", meta],
    ]) {
      const r = cli([...args, "--json"], { env });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(err(r).code).toBe("BAD_META");
    }
    expect(dump(db)).toBe(before);
  });

  it("a row written into the database by hand (deep, garbage or non-object JSON) crashes no reader", () => {
    const dir = tempDir();
    execGit(dir, ["init", "-q"]);
    execGit(dir, ["commit", "-q", "--allow-empty", "-m", "root"]);
    const db = join(dir, "hand.db");
    const env = { BATON_DB: db, BATON_AGENT: "carol" };
    expect(cli(["task", "add", "t1", "--title", "first", "--json"], { env, cwd: dir }).code).toBe(0);
    expect(cli(["claim", "task:ok", "--json"], { env, cwd: dir }).code).toBe(0);
    const handle = new Database(db);
    const now = Date.now();
    const deep = `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    const insert = handle.prepare(
      "INSERT INTO claims (key, agent, token, state, claimed_at, expires_at, meta) VALUES (?, 'mallory', ?, 'active', ?, ?, ?)",
    );
    insert.run("task:deep", 100, now, now + 3_600_000, deep);
    insert.run("task:garbage", 101, now, now + 3_600_000, "{not json");
    insert.run("task:array", 102, now, now + 3_600_000, "[1,2]");
    const event = handle.prepare(
      "INSERT INTO events (at, kind, key, agent, token, detail) VALUES (?, ?, ?, 'mallory', 100, ?)",
    );
    event.run(now, "granted", "task:deep", deep);
    event.run(now, "note", "task:garbage", "\u0000garbage");
    event.run(now, "selected", "task:t1", "{oops");
    handle
      .prepare(
        "INSERT INTO tasks (id, title, category, priority, state, blocked_by, paths, meta, created_at, updated_at) VALUES ('t2', 'hand', 'general', 50, 'open', 'nope', '{', ?, ?, ?)",
      )
      .run(deep, now, now);
    // Hand-written tokens go through the counter too, as any writer's do (a counter behind the
    // log is the lost-WAL alarm, another test's subject).
    handle.prepare("UPDATE counters SET value = max(value, 102) WHERE name = 'fencing_token'").run();
    handle.close();
    for (const args of [
      ["list"],
      ["show", "task:garbage", "--json"],
      ["log", "--json"],
      ["probe", "src/"],
      ["context"],
      ["task", "list", "--json"],
      ["next", "--json"],
    ]) {
      const r = cli(args, { env, cwd: dir });
      expect([0, 1], `${args.join(" ")}: exit ${r.code} ${r.stderr}`).toContain(r.code);
      expect(r.stderr).not.toMatch(/call stack|internal error/i);
    }
    const shown = json(cli(["show", "task:deep", "--json"], { env, cwd: dir }));
    expect(shown.claim.meta).toEqual({ $unreadable: "nested deeper than 64 levels" });
    expect(readStoredObject("{not json")).toEqual({ $unreadable: "not JSON (9 bytes)" });
  });
});

describe.skipIf(!storeSelected("postgres"))("hole 4: a hand-written row on PostgreSQL crashes no reader either", () => {
  it("deep JSON in the json columns (3,000 levels: the server accepts it) reads as unreadable", async () => {
    const url = testDatabaseUrl();
    const schema = freshSchema("hostile");
    const baton = await openBaton({ databaseUrl: url, schema });
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await baton.claim("task:ok", { as: "carol" });
      await baton.tasks.put([{ id: "t1", title: "first" }], "add");
      const deep = `{"a":${"[".repeat(3_000)}${"]".repeat(3_000)}}`;
      const now = Date.now();
      await pool.query(
        `INSERT INTO ${schema}.claims (key, agent, token, state, claimed_at, expires_at, meta) VALUES ('task:deep', 'mallory', 100, 'active', $1, $2, $3::json)`,
        [now, now + 3_600_000, deep],
      );
      await pool.query(
        `INSERT INTO ${schema}.events (at, kind, key, agent, token, detail) VALUES ($1, 'granted', 'task:deep', 'mallory', 100, $2::json)`,
        [now, deep],
      );
      await pool.query(`UPDATE ${schema}.tasks SET meta = $1::json WHERE id = 't1'`, [deep]);
      const shown = await baton.show("task:deep");
      expect(shown.claim?.meta).toEqual({ $unreadable: "nested deeper than 64 levels" });
      expect(shown.events.at(-1)?.detail).toEqual({ $unreadable: "nested deeper than 64 levels" });
      expect((await baton.list()).length).toBe(2);
      expect((await baton.log()).length).toBeGreaterThan(0);
      expect((await baton.tasks.show("t1"))?.meta).toEqual({ $unreadable: "nested deeper than 64 levels" });
      JSON.stringify(await baton.context({ as: "carol", cwd: tempDir() }));
    } finally {
      await baton.close();
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    }
  });
});

function execGit(cwd: string, args: string[]): string {
  const r = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...cleanEnv(),
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@e",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@e",
    },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

describe("hole 4: path patterns through symbolic links", () => {
  function repoWithLinks(): { dir: string; outside: string; env: Record<string, string> } {
    const dir = tempDir("baton-links-");
    const outside = tempDir("baton-outside-");
    writeFileSync(join(outside, "passwd"), "root:x:0:0\n");
    execGit(dir, ["init", "-q"]);
    mkdirSync(join(dir, "src", "auth"), { recursive: true });
    writeFileSync(join(dir, "src", "auth", "login.ts"), "export {};\n");
    execGit(dir, ["add", "-A"]);
    execGit(dir, ["commit", "-q", "-m", "root"]);
    symlinkSync(outside, join(dir, "out"));
    symlinkSync("src", join(dir, "alias"));
    symlinkSync(join(outside, "not-yet"), join(dir, "dangling"));
    symlinkSync("loop-b", join(dir, "loop-a"));
    symlinkSync("loop-a", join(dir, "loop-b"));
    return { dir, outside, env: { BATON_DB: join(tempDir(), "links.db") } };
  }

  it("a link that leaves the repository is refused with BAD_PATH, and nothing is claimed", () => {
    const { dir, env } = repoWithLinks();
    expect(cli(["paths", "claim", "src/auth/", "--as", "alice"], { env, cwd: dir }).code).toBe(0);
    const before = dump(env.BATON_DB as string);
    for (const pattern of ["out/passwd", "out/", "out/**/*.conf", "dangling", "loop-a/x"]) {
      const r = cli(["paths", "claim", pattern, "--as", "bob", "--json"], { env, cwd: dir });
      expect(r.code, `${pattern}: ${r.stdout}`).toBe(2);
      expect(err(r).code).toBe("BAD_PATH");
    }
    expect(err(cli(["paths", "claim", "out/passwd", "--as", "bob", "--json"], { env, cwd: dir })).message).toMatch(
      /symbolic link .* outside the repository/,
    );
    expect(dump(env.BATON_DB as string)).toBe(before);
  });

  it("an alias of a claimed folder conflicts like the folder itself (files, folders and globs)", () => {
    const { dir, env } = repoWithLinks();
    expect(cli(["paths", "claim", "src/auth/", "--as", "alice"], { env, cwd: dir }).code).toBe(0);
    for (const pattern of ["alias/auth/login.ts", "alias/auth/", "alias/**/*.ts", "alias"]) {
      const r = cli(["paths", "claim", pattern, "--as", "bob", "--json"], { env, cwd: dir });
      expect(r.code, `${pattern}: ${r.stdout}`).toBe(1);
      expect(json(r).code).toBe("PATH_CONFLICT");
    }
    // Through the alias, a new file is claimed under its real name.
    const granted = json(cli(["paths", "claim", "alias/new.ts", "--as", "bob", "--json"], { env, cwd: dir }));
    expect(granted.claims.map((c: Json) => c.pattern)).toEqual(["src/new.ts"]);
  });
});

describe("hole 4: task import", () => {
  it("gh issue numbers that are not positive integers are named, not imported", () => {
    for (const number of [0, -3, 1.5, 1e20, "12", null, true]) {
      expect(() => readGithubTasks(JSON.stringify([{ number, title: "x" }]), "issues.json")).toThrow(
        number === null ? /no number or title|not a positive integer/ : /not a positive integer/,
      );
    }
    for (const item of [null, 5, "x", [1]]) {
      expect(() => readGithubTasks(JSON.stringify([item]), "issues.json")).toThrow(/not an object/);
    }
    // Odd labels are not a crash.
    expect(
      readGithubTasks(JSON.stringify([{ number: 3, title: "x", labels: [null, 7, { name: "bug" }] }]), "i.json")[0]
        ?.meta,
    ).toEqual({
      number: 3,
      labels: ["", "", "bug"],
    });
  });

  it("binary and non-UTF-8 files are refused by name; nothing is imported", () => {
    const dir = tempDir();
    const env = { BATON_DB: join(dir, "import.db"), BATON_AGENT: "alice" };
    writeFileSync(join(dir, "bin.md"), Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0x00, 0x01, 0x0a, 0x2d, 0x2d, 0x2d, 0x0a]));
    writeFileSync(
      join(dir, "latin1.md"),
      Buffer.concat([Buffer.from("---\ntitle: caf"), Buffer.from([0xe9]), Buffer.from("\n---\n")]),
    );
    writeFileSync(
      join(dir, "issues.json"),
      Buffer.concat([Buffer.from('[{"number":1,"title":"caf'), Buffer.from([0xe9]), Buffer.from('"}]')]),
    );
    const cases: [string, RegExp][] = [
      ["bin.md", /binary file/],
      ["latin1.md", /not valid UTF-8/],
      ["issues.json", /not valid UTF-8/],
    ];
    for (const [file, message] of cases) {
      const r = cli(["task", "import", file, "--json"], { env, cwd: dir });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(err(r).code).toBe("BAD_INPUT");
      expect(err(r).message).toMatch(message);
    }
    expect(json(cli(["task", "list", "--json"], { env, cwd: dir })).tasks).toEqual([]);
  });

  it("front-matter keys named like Object.prototype members are plain keys (constructor, __proto__, toString)", () => {
    const dir = tempDir();
    const tasks = join(dir, "tasks");
    mkdirSync(tasks);
    writeFileSync(
      join(tasks, "a.md"),
      "---\ntitle: A\nconstructor: yes\n__proto__: polluted\ntoString: 1\nhasOwnProperty: [x, y]\n---\n",
    );
    writeFileSync(join(tasks, "b.md"), "---\ntitle: B\nconstructor: one\nconstructor: two\n---\n");
    const env = { BATON_DB: join(dir, "fm.db"), BATON_AGENT: "alice" };
    const twice = cli(["task", "import", "tasks", "--json"], { env, cwd: dir });
    expect(twice.code).toBe(2);
    expect(err(twice).message).toMatch(/b\.md:4: key constructor appears twice/);
    writeFileSync(join(tasks, "b.md"), "---\ntitle: B\n---\n");
    const r = cli(["task", "import", "tasks", "--json"], { env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const a = json(cli(["task", "show", "a", "--json"], { env, cwd: dir })).task;
    expect(a.meta).toEqual(
      JSON.parse('{"constructor":"yes","__proto__":"polluted","toString":1,"hasOwnProperty":["x","y"]}'),
    );
    expect(Object.keys(a.meta)).toContain("__proto__");
    expect(Object.getPrototypeOf(a.meta)).toBe(Object.prototype);
  });
});

// ---------------------------------------------------------------------------
// The battery: random bad input to every library method and CLI command
// ---------------------------------------------------------------------------

/** Codes bad input may answer with: every exit-2 code of the registry. */
const INPUT_CODES = new Set(
  Object.entries(ERROR_CODES)
    .filter(([, spec]) => spec.exit === 2)
    .map(([code]) => code),
);

const UNSAFE_CHARS = INVISIBLE.map(([c]) => c).concat(["\uD800", "\uDFFF", "\u0000", "\n", "\t"]);
const accepts = (parse: (v: unknown) => unknown) => (value: unknown) => {
  try {
    parse(value);
    return true;
  } catch {
    return false;
  }
};
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.object({ maxDepth: 2 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);
/** Text that is sometimes fine and often not: any code points (lone surrogates included), unsafe characters spliced in, odd lengths. */
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc
    .tuple(fc.string({ maxLength: 12 }), fc.constantFrom(...UNSAFE_CHARS), fc.string({ maxLength: 12 }))
    .map(([a, c, b]) => `${a}${c}${b}`),
  fc.constantFrom("", "   ", "x".repeat(513), "x".repeat(5000), "-1", "0", "1e999", "NaN", "__proto__", "constructor"),
);
const badKey = fc.oneof(anyText, notAString).filter((v) => !accepts(parseKey)(v));
const badAgent = fc.oneof(anyText, notAString).filter((v) => !accepts(parseAgent)(v));
const badDuration = fc
  .oneof(
    anyText,
    fc.constantFrom(
      0,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0.5,
      1e300,
      "0s",
      "-5m",
      "1x",
      "5 m",
      "99999y",
      "1.2.3s",
    ),
    fc.string({ maxLength: 8 }),
  )
  .filter((v) => {
    try {
      durationMs(v as string, "x");
      return false;
    } catch {
      return true;
    }
  });
const badMeta = fc.oneof(
  fc.constantFrom(
    "[1]",
    "1",
    '"s"',
    "null x",
    "{",
    '{"a":',
    deepText(MAX_META_DEPTH + 1),
    `{"big":"${"x".repeat(17 * 1024)}"}`,
  ),
  fc.string({ maxLength: 20 }).filter((s) => !accepts(parseMeta)(s)),
  fc.integer().map((n) => [n]),
);
const badToken = fc
  .oneof(fc.constantFrom(0, -1, 1.5, "abc", "", "1e3", "12345678901234567890", Number.NaN), anyText)
  .filter((v) => !accepts(parseToken)(v));
const badText = fc.oneof(
  fc.constant("x".repeat(4097)),
  notAString.filter((v) => v !== null),
);
const badCommit = fc.oneof(
  fc.constantFrom("xyz", "123", "g".repeat(40), "a".repeat(65)),
  notAString.filter((v) => v !== null),
);
const badLimit = fc.constantFrom(0, -1, 1.5, 100_001, Number.NaN, "ten");
const badPath = fc.constantFrom(
  "",
  "../outside",
  "/etc/passwd",
  "src/[z-a]",
  "!src",
  "src/*/../x",
  "@(a|b)",
  "x\u0000y",
  "src/{a,",
  "out/passwd",
);

type Call = { name: string; run: (baton: Awaited<ReturnType<typeof openBaton>>, repo: string) => Promise<unknown> };

/** One library call with exactly one bad argument (the others valid). */
const badCall: fc.Arbitrary<Call> = fc.oneof(
  badKey.map((k): Call => ({
    name: `claim key ${fc.stringify(k)}`,
    run: (b) => b.claim(k as string, { as: "alice" }),
  })),
  badAgent.map((a): Call => ({
    name: `claim as ${fc.stringify(a)}`,
    run: (b) => b.claim("task:new", { as: a as string }),
  })),
  badDuration.map((d): Call => ({
    name: `claim ttl ${fc.stringify(d)}`,
    run: (b) => b.claim("task:new", { as: "bob", ttl: d as string }),
  })),
  badDuration
    .filter((d) => !accepts((v) => durationMs(v as string, "x", true))(d))
    .map((d): Call => ({
      name: `claim doneWindow ${fc.stringify(d)}`,
      run: (b) => b.claim("task:new", { as: "bob", doneWindow: d as string }),
    })),
  badMeta.map((m): Call => ({
    name: `claim meta ${fc.stringify(m).slice(0, 40)}`,
    run: (b) => b.claim("task:new", { as: "bob", meta: m as string }),
  })),
  fc.constantFrom("loud", "", 1).map((s): Call => ({
    name: `claim similar ${s}`,
    run: (b) => b.claim("task:new", { as: "bob", similar: s as "warn" }),
  })),
  badKey.map((k): Call => ({ name: `renew ${fc.stringify(k)}`, run: (b) => b.renew(k as string, { as: "alice" }) })),
  badDuration.map((d): Call => ({
    name: `renew ttl ${fc.stringify(d)}`,
    run: (b) => b.renew("task:42", { as: "alice", ttl: d as string }),
  })),
  badText.map((t): Call => ({
    name: "complete result",
    run: (b) => b.complete("task:42", { as: "alice", result: t as string }),
  })),
  badCommit.map((c): Call => ({
    name: `complete commit ${fc.stringify(c)}`,
    run: (b) => b.complete("task:42", { as: "alice", commit: c as string }),
  })),
  badAgent.map((a): Call => ({ name: "release as", run: (b) => b.release("task:42", { as: a as string }) })),
  badCommit.map((c): Call => ({
    name: "release commit",
    run: (b) => b.release("task:42", { as: "alice", commit: c as string }),
  })),
  badText.map((t): Call => ({
    name: "abandon reason",
    run: (b) => b.abandon("task:42", { as: "alice", reason: t as string }),
  })),
  badDuration
    .filter((d) => !accepts((v) => durationMs(v as string, "x", true))(d))
    .map((d): Call => ({ name: `reap minAge ${fc.stringify(d)}`, run: (b) => b.reap({ minAge: d as string }) })),
  badKey.map((k): Call => ({ name: "show", run: (b) => b.show(k as string) })),
  badLimit.map((l): Call => ({ name: `list limit ${l}`, run: (b) => b.list({ limit: l as number }) })),
  fc
    .constantFrom("gone", "", "active,nope")
    .map((s): Call => ({ name: `list state ${s}`, run: (b) => b.list({ state: s as "active" }) })),
  badDuration.map((d): Call => ({ name: "log since", run: (b) => b.log({ since: d as string }) })),
  fc
    .constantFrom("exploded", "")
    .map((k): Call => ({ name: `log kind ${k}`, run: (b) => b.log({ kind: k as "granted" }) })),
  badToken.map((t): Call => ({ name: `check token ${fc.stringify(t)}`, run: (b) => b.check("task:42", t as number) })),
  badKey.map((k): Call => ({ name: "check key", run: (b) => b.check(k as string, 1) })),
  badText.map((t): Call => ({ name: "note text", run: (b) => b.note("task:42", { as: "alice", text: t as string }) })),
  badKey.map((k): Call => ({ name: "note key", run: (b) => b.note(k as string, { as: "alice", text: "hi" }) })),
  badText.map((t): Call => ({
    name: "verify note",
    run: (b) => b.verify("task:42", { as: "alice", note: t as string }),
  })),
  badAgent.map((a): Call => ({ name: "next as", run: (b, repo) => b.next({ as: a as string, cwd: repo }) })),
  badDuration.map((d): Call => ({
    name: "next ttl",
    run: (b, repo) => b.next({ as: "bob", ttl: d as string, cwd: repo, dryRun: false }),
  })),
  fc
    .oneof(
      fc.record({
        id: fc
          .oneof(anyText, notAString)
          .filter((v) => typeof v !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,199}$/.test(v)),
        title: fc.constant("t"),
      }),
      fc.record({ id: fc.constant("t9"), title: fc.oneof(fc.constant(""), badText) }),
      fc.record({
        id: fc.constant("t9"),
        title: fc.constant("t"),
        priority: fc.constantFrom(-1, 101, 1.5, Number.NaN),
      }),
      fc.record({
        id: fc.constant("t9"),
        title: fc.constant("t"),
        category: fc.constantFrom("Bad Cat", "", "x".repeat(80), "é"),
      }),
      fc.record({ id: fc.constant("t9"), title: fc.constant("t"), meta: badMeta }),
      fc.record({
        id: fc.constant("t9"),
        title: fc.constant("t"),
        blockedBy: fc.constantFrom(["t9"], ["bad id"], [""]),
      }),
      fc.record({
        id: fc.constant("t9"),
        title: fc.constant("t"),
        assignee: badAgent.filter((a) => a !== null && a !== undefined),
      }),
      fc.record({ id: fc.constant("t9"), title: fc.constant("t"), paths: badPath.map((p) => [p]) }),
    )
    .map((spec): Call => ({
      name: `task put ${JSON.stringify(spec).slice(0, 60)}`,
      run: (b, repo) => b.tasks.put([spec as never], "add", { cwd: repo }),
    })),
  badPath.map((p): Call => ({
    name: `claimPaths ${p}`,
    run: (b, repo) => b.claimPaths([p], { as: "bob", cwd: repo }),
  })),
  badDuration.map((d): Call => ({
    name: "claimPaths ttl",
    run: (b, repo) => b.claimPaths(["src/x.ts"], { as: "bob", ttl: d as string, cwd: repo }),
  })),
  badPath.map((p): Call => ({
    name: `claimWithPaths ${p}`,
    run: (b, repo) => b.claimWithPaths("task:new", [p], { as: "bob", cwd: repo }),
  })),
  badKey.map((k): Call => ({ name: "gateCheck", run: (b) => b.gateCheck(k as string) })),
  badKey.map((k): Call => ({
    name: "withClaim key",
    run: (b) => b.withClaim(k as string, async () => 1, { as: "bob" }),
  })),
  badDuration.map((d): Call => ({
    name: "withClaim ttl",
    run: (b) => b.withClaim("task:new", async () => 1, { as: "bob", ttl: d as string }),
  })),
);

function gitRepo(): string {
  const dir = tempDir("baton-battery-");
  execGit(dir, ["init", "-q"]);
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "a.ts"), "export {};\n");
  execGit(dir, ["add", "-A"]);
  execGit(dir, ["commit", "-q", "-m", "root"]);
  symlinkSync(tempDir("baton-outside-"), join(dir, "out"));
  return dir;
}

describe("the bad-input battery", () => {
  it("the exported parsers answer values of any type with a value or their own code, never a TypeError", () => {
    const parsers: [string, (v: unknown) => unknown, string][] = [
      ["parseKey", parseKey, "BAD_KEY"],
      ["parseAgent", parseAgent, "BAD_AGENT"],
      ["parseToken", parseToken, "BAD_TOKEN"],
      ["parseDuration", (v) => parseDuration(v as string), "BAD_DURATION"],
      ["durationMs", (v) => durationMs(v as string, "ttl"), "BAD_DURATION"],
      ["parseMeta", parseMeta, "BAD_META"],
      ["parseCommit", parseCommit, "BAD_INPUT"],
      ["parseLimit", (v) => parseLimit(v, 10), "BAD_OPTION"],
      ["parseText", (v) => parseText(v, "note"), "BAD_INPUT"],
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withNullPrototype: true }),
          anyText,
        ),
        (value) => {
          for (const [name, parse, code] of parsers) {
            try {
              parse(value);
            } catch (error) {
              expect(
                isBatonError(error) && error.code,
                `${name}(${fc.stringify(value).slice(0, 60)}): ${error instanceof Error ? error.message : "?"}`,
              ).toBe(code);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("every library method: random bad input → a BatonError with an input code, every table unchanged", async () => {
    const repo = gitRepo();
    const db = join(tempDir(), "battery.db");
    const baton = await openBaton({ db });
    try {
      await baton.claim("task:42", { as: "alice", meta: { issue: 42 } });
      await baton.tasks.put([{ id: "t1", title: "first" }], "add");
      await baton.claimPaths(["src/a.ts"], { as: "alice", cwd: repo });
      await fc.assert(
        fc.asyncProperty(badCall, async (call) => {
          const before = dump(db);
          let caught: unknown = null;
          try {
            await call.run(baton, repo);
          } catch (error) {
            caught = error;
          }
          expect(isBatonError(caught), `${call.name}: ${String(caught)}`).toBe(true);
          expect(
            INPUT_CODES.has((caught as { code: string }).code),
            `${call.name}: ${(caught as { code: string }).code}`,
          ).toBe(true);
          expect(dump(db), call.name).toBe(before);
        }),
        { numRuns: 400 },
      );
    } finally {
      await baton.close();
    }
  });

  it("every library method: arguments of any type and shape → a value or a BatonError (never a TypeError); a refusal changes nothing", async () => {
    const repo = gitRepo();
    const db = join(tempDir(), "junk.db");
    const baton = await openBaton({ db });
    const junk = fc.oneof(
      fc.anything({ maxDepth: 2 }),
      anyText,
      fc.constantFrom(0, -1, 1.5, Number.NaN, "1m", 60_000, "all", "active"),
    );
    const names = [
      "as",
      "ttl",
      "meta",
      "reopen",
      "doneWindow",
      "similar",
      "result",
      "commit",
      "reason",
      "text",
      "note",
      "events",
      "state",
      "agent",
      "prefix",
      "limit",
      "since",
      "kind",
      "key",
      "minAge",
      "category",
      "seed",
      "dryRun",
      "shared",
      "advisory",
      "budget",
      "outcome",
      "window",
      "holding",
      "allRepos",
      "allowDirty",
    ];
    const options = fc.oneof(
      fc.constant(undefined),
      junk,
      fc.dictionary(fc.constantFrom(...names), fc.oneof(junk, fc.constantFrom("alice", "bob", "task:42", "1m", true)), {
        maxKeys: 4,
      }),
    );
    // Options that point git at the test repository and never at the network.
    const local = (o: unknown) =>
      typeof o === "object" && o !== null && !Array.isArray(o) ? { ...o, cwd: repo, fetch: false } : o;
    const methods: Record<string, (b: typeof baton, key: unknown, list: unknown, opts: unknown) => Promise<unknown>> = {
      claim: (b, k, _l, o) => b.claim(k as string, o as never),
      claimWithPaths: (b, k, l, o) => b.claimWithPaths(k as string, l as string[], local(o) as never),
      claimPaths: (b, _k, l, o) => b.claimPaths(l as string[], local(o) as never),
      releasePaths: (b, _k, l, o) => b.releasePaths(l as string[], local(o) as never),
      renewPaths: (b, _k, l, o) => b.renewPaths(l as string[], local(o) as never),
      listPaths: (b, _k, _l, o) => b.listPaths(local(o) as never),
      pathBlockers: (b, _k, l, o) => b.pathBlockers(l as string[], local(o) as never),
      probe: (b, _k, l, o) => b.probe(l as string[], local(o) as never),
      gateCheck: (b, k, _l, o) => b.gateCheck(k as string, o as never),
      note: (b, k, _l, o) => b.note(k as string, o as never),
      verify: (b, k, _l, o) => b.verify(k as string, o as never),
      renew: (b, k, _l, o) => b.renew(k as string, o as never),
      complete: (b, k, _l, o) => b.complete(k as string, o as never),
      next: (b, _k, _l, o) => b.next(local(o) as never),
      release: (b, k, _l, o) => b.release(k as string, o as never),
      abandon: (b, k, _l, o) => b.abandon(k as string, o as never),
      reap: (b, _k, _l, o) => b.reap(o as never),
      show: (b, k, _l, o) => b.show(k as string, o as never),
      list: (b, _k, _l, o) => b.list(o as never),
      log: (b, _k, _l, o) => b.log(o as never),
      check: (b, k, l) => b.check(k as string, l as number),
      withClaim: (b, k, _l, o) => b.withClaim(k as string, async () => 1, o as never),
      putTasks: (b, _k, l, o) => b.tasks.put(l as never, o as never, { cwd: repo }),
      listTasks: (b, _k, _l, o) => b.tasks.list(o as never),
    };
    try {
      await baton.claim("task:42", { as: "alice" });
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(methods)),
          fc.oneof(fc.constantFrom("task:42", "task:1", "gate:x"), junk),
          fc.oneof(fc.constantFrom(["src/a.ts"], [], null), fc.array(junk, { maxLength: 3 }), junk),
          options,
          async (method, key, list, opts) => {
            const before = dump(db);
            let caught: unknown = null;
            try {
              await (methods[method] as (typeof methods)[string])(baton, key, list, opts);
            } catch (error) {
              caught = error;
            }
            if (caught === null) return;
            // String() itself throws for some of these keys ({ toString: [] }): name those by their tag.
            const text = (value: unknown): string => {
              try {
                return String(value);
              } catch {
                return Object.prototype.toString.call(value);
              }
            };
            const what = `${method}(${text(key)}, ${JSON.stringify(list)}, ${JSON.stringify(opts)}): ${text(caught)}`;
            expect(isBatonError(caught), what).toBe(true);
            expect((caught as { code: string }).code, what).not.toBe("INTERNAL");
            if (INPUT_CODES.has((caught as { code: string }).code)) expect(dump(db), what).toBe(before);
          },
        ),
        { numRuns: 400 },
      );
    } finally {
      await baton.close();
    }
  });

  it("every CLI command: random bad arguments → exit 2 with a known code in --json, every table unchanged", () => {
    const validWithZero = (d: string): boolean => {
      try {
        parseDuration(d, { allowZero: true });
        return true;
      } catch {
        return false;
      }
    };
    const repo = gitRepo();
    const db = join(tempDir(), "battery-cli.db");
    const env = { BATON_DB: db, BATON_AGENT: "alice" };
    expect(cli(["claim", "task:42", "--json"], { env, cwd: repo }).code).toBe(0);
    const str = (arb: fc.Arbitrary<unknown>) =>
      arb.filter((v): v is string => typeof v === "string" && !v.startsWith("-") && !v.includes("\u0000"));
    const argvCase: fc.Arbitrary<readonly string[]> = fc.oneof(
      str(badKey).chain((k) =>
        fc.constantFrom(
          ["claim", k],
          ["renew", k],
          ["complete", k],
          ["release", k],
          ["abandon", k],
          ["show", k],
          ["check", k, "--token", "1"],
          ["note", k, "hi"],
          ["verify", k],
          ["gate", "check", k],
        ),
      ),
      str(badAgent)
        .filter((a) => a.trim() !== "")
        .map((a) => ["claim", "task:7", "--as", a]),
      str(badDuration)
        .filter((d) => d.trim() !== "")
        .chain((d) =>
          fc.constantFrom(
            ["claim", "task:7", "--ttl", d],
            ["renew", "task:42", "--ttl", d],
            ["log", "--since", d],
            ["paths", "claim", "src/a.ts", "--ttl", d],
          ),
        ),
      // reap's --min-age takes zero ("0s": every expired claim), so only what is bad even then.
      str(badDuration)
        .filter((d) => d.trim() !== "" && !validWithZero(d))
        .map((d) => ["reap", "--min-age", d]),
      str(badMeta).chain((m) =>
        fc.constantFrom(["claim", "task:7", "--meta", m], ["task", "add", "t7", "--title", "x", "--meta", m]),
      ),
      str(badToken)
        .filter((t) => t.trim() !== "")
        .map((t) => ["check", "task:42", "--token", t]),
      str(badCommit).map((c) => ["complete", "task:42", "--commit", c]),
      fc
        .constantFrom("0", "-1", "x", "100001")
        .chain((l) => fc.constantFrom(["list", "--limit", l], ["log", "--limit", l])),
      badPath
        .filter((p) => p !== "" && !p.includes("\u0000") && !p.startsWith("!"))
        .chain((p) =>
          fc.constantFrom(
            ["paths", "claim", p],
            ["claim", "task:7", "--paths", p],
            ["probe", p],
            ["task", "add", "t8", "--title", "x", "--paths", p],
          ),
        ),
      fc.constantFrom(
        ["task", "add", "bad id", "--title", "x"],
        ["task", "add", "t8", "--title", "x", "--priority", "101"],
        ["list", "--state", "gone"],
        ["log", "--kind", "exploded"],
        ["claim", "task:7", "--similar", "loud"],
        ["complete", "task:42", "--outcome", "meh"],
      ),
    );
    fc.assert(
      fc.property(argvCase, (args) => {
        const before = dump(db);
        const r = cli([...args, "--json"], { env, cwd: repo });
        expect(r.code, `${JSON.stringify(args)}: ${r.stdout}${r.stderr}`).toBe(2);
        const code = (JSON.parse(r.stdout) as Json).error?.code as string;
        expect(INPUT_CODES.has(code), `${JSON.stringify(args)}: ${code}`).toBe(true);
        expect(dump(db), JSON.stringify(args)).toBe(before);
      }),
      { numRuns: 10 },
    );
  });
});

/**
 * `gate run`, `task import` and `check` through one live `baton serve` (BATON_URL): what the
 * parity rows of test/cli-remote-parity.test.ts cannot show. 20 processes with 20 tokens fire
 * one gate through the server and the command runs once (on SQLite and PostgreSQL); `--wait`
 * waits for a sibling through the server; marker files stay on the client; a bad import file
 * imports nothing on the server; a 1,000-task backlog imports in one request (more than the
 * 64 KiB other routes take), and a body past the import route's limit is 413 `BODY_TOO_LARGE`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TASK_IMPORT_BODY_LIMIT } from "../src/api/baton-api.js";
import { readMarkdownTasks } from "../src/workspace/task-import.js";
import { cliStores } from "./contract/targets.js";
import { cli, cliAsync, dumpSqlite, gitCheckout, type ServeProcess, startServe, tempDir, until } from "./helpers.js";

const json = (s: string) => JSON.parse(s) as Record<string, any>;

/** A command that appends one line to `counter` (the side effect we count). */
function effect(counter: string, extra = ""): string[] {
  return ["--", process.execPath, "-e", `require("fs").appendFileSync(${JSON.stringify(counter)}, "x\\n");${extra}`];
}
const count = (counter: string): number =>
  existsSync(counter) ? readFileSync(counter, "utf8").split("\n").filter(Boolean).length : 0;

/** A realistic backlog of `n` markdown tasks: front matter with category, priority, blockers, paths, team fields. */
function backlog(n: number): string {
  const dir = tempDir("baton-backlog-");
  const categories = ["auth", "docs", "api", "ui", "infra"];
  for (let i = 0; i < n; i++) {
    const blockers = i % 7 === 0 && i > 0 ? `blocked_by: [task-${String(i - 1).padStart(4, "0")}]\n` : "";
    writeFileSync(
      join(dir, `task-${String(i).padStart(4, "0")}.md`),
      `---\ncategory: ${categories[i % categories.length]}\npriority: ${(i * 13) % 101}\n${blockers}` +
        `paths: [src/${categories[i % categories.length]}/module-${i % 40}/, tests/${categories[i % categories.length]}/]\n` +
        `owner_team: team-${i % 9}\nestimate: ${(i % 5) + 1}d\n---\n` +
        `# Task ${i}: make the ${categories[i % categories.length]} module ${i % 40} handle the edge case it misses\n\n` +
        `What goes wrong, how to reproduce it, and what done looks like (not imported: the body stays in the file).\n`,
    );
  }
  return dir;
}

describe.each(cliStores("remote_gate"))("gate run through baton serve on %s", (_name, store) => {
  it("20 processes with 20 tokens fire the same gate through one server: the command runs exactly once, 19 skips logged", async () => {
    const env = store();
    const cwd = gitCheckout({ prefix: "baton-remote-gate-" });
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = cli(["tokens", "add", `session-${i}`, "--json"], { env, cwd });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      tokens.push(json(r.stdout).token as string);
    }
    const server = await startServe(env);
    try {
      const counter = join(tempDir(), "sent");
      const results = await Promise.all(
        tokens.map((_, i) =>
          cliAsync(["gate", "run", "notify:fleet", "--json", ...effect(counter, "setTimeout(()=>{},300)")], {
            env: { BATON_URL: server.url, BATON_TOKEN: tokens[i] ?? "" },
            cwd,
          }),
        ),
      );
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      expect(count(counter)).toBe(1);
      const outcomes = results.map((r) => json(r.stdout).outcome as string);
      expect(outcomes.filter((o) => o === "ran")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "skipped")).toHaveLength(19);
      const ran = json(results[outcomes.indexOf("ran")]?.stdout ?? "{}");
      expect(ran).toMatchObject({ ok: true, key: "gate:notify:fleet", exitCode: 0, mark: { source: "registry" } });
      // The server's audit log: one grant and one completion, 19 skips (a racer that lost between
      // the look and the claim is refused by the claim too, as on a registry here).
      const log = cli(["log", "gate:notify:fleet", "--limit", "100", "--json"], {
        env: { BATON_URL: server.url, BATON_TOKEN: tokens[0] ?? "" },
        cwd,
      });
      const kinds = (json(log.stdout).events as { kind: string }[]).map((e) => e.kind);
      expect(kinds.filter((k) => k === "skipped")).toHaveLength(19);
      expect(kinds.filter((k) => k === "granted")).toHaveLength(1);
      expect(kinds.filter((k) => k === "completed")).toHaveLength(1);
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe("gate run, task import and check through baton serve", () => {
  const cwd = gitCheckout({ prefix: "baton-remote-gaps-" });
  const dir = tempDir("baton-remote-gaps-store-");
  const db = join(dir, "served.db");
  const tokens: string[] = [];
  let server: ServeProcess;
  const remote = (i: number): Record<string, string> => ({ BATON_URL: server.url, BATON_TOKEN: tokens[i] ?? "" });

  beforeAll(async () => {
    for (let i = 0; i < 20; i++) {
      const r = cli(["tokens", "add", `session-${i}`, "--json"], { env: { BATON_DB: db }, cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      tokens.push(json(r.stdout).token as string);
    }
    server = await startServe({ BATON_DB: db });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("--wait through the server: waits for a sibling's outcome, runs when it failed, skips when it marked", async () => {
    const counter = join(tempDir(), "sent");
    const go = join(tempDir(), "go");
    const started = join(tempDir(), "started");
    const hold = `require("fs").writeFileSync(${JSON.stringify(started)},"");setInterval(()=>{if(require("fs").existsSync(${JSON.stringify(go)}))process.exit(5)},10)`;
    const sibling = cliAsync(["gate", "run", "notify:wait", "--", process.execPath, "-e", hold], {
      env: remote(1),
      cwd,
    });
    await until("the sibling's command to start", () => existsSync(started));
    // Busy at once without --wait (a skip), then a waiter that outlives the sibling's failure runs.
    const busy = cli(["gate", "run", "notify:wait", "--json", ...effect(counter)], { env: remote(2), cwd });
    expect(json(busy.stdout)).toMatchObject({ outcome: "skipped", reason: "busy", holder: "session-1" });
    const waiter = cliAsync(["gate", "run", "notify:wait", "--wait", "60s", "--json", ...effect(counter)], {
      env: remote(3),
      cwd,
    });
    writeFileSync(go, "");
    expect((await sibling).code).toBe(5);
    const waited = await waiter;
    expect(waited.code, waited.stderr).toBe(0);
    expect(json(waited.stdout)).toMatchObject({ outcome: "ran", ok: true, mark: { agent: "session-3" } });
    expect(count(counter)).toBe(1);
    const late = cli(["gate", "run", "notify:wait", "--wait", "5s", "--json", ...effect(counter)], {
      env: remote(4),
      cwd,
    });
    expect(json(late.stdout)).toMatchObject({ outcome: "skipped", reason: "marked", mark: { agent: "session-3" } });
    expect(count(counter)).toBe(1);
  });

  it("marker files stay on the client: written there, and honoured by a server whose registry is new", async () => {
    const markers = join(tempDir(), "marks");
    mkdirSync(markers);
    const counter = join(tempDir(), "sent");
    const args = ["gate", "run", "notify:marked", "--marker-dir", markers, "--json", ...effect(counter)];
    const first = cli(args, { env: remote(5), cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(count(counter)).toBe(1);
    expect(json(readFileSync(join(markers, readdirSync(markers)[0] ?? ""), "utf8"))).toMatchObject({
      key: "gate:notify:marked",
      agent: "session-5",
    });
    // A new server on a new registry knows no mark, but the client's marker file does.
    const freshDb = join(tempDir(), "fresh.db");
    const t = cli(["tokens", "add", "late", "--json"], { env: { BATON_DB: freshDb }, cwd: dir });
    const fresh = await startServe({ BATON_DB: freshDb });
    try {
      const again = cli(args, {
        env: { BATON_URL: fresh.url, BATON_TOKEN: json(t.stdout).token as string },
        cwd,
      });
      expect(again.code, again.stderr).toBe(0);
      expect(json(again.stdout)).toMatchObject({
        outcome: "skipped",
        reason: "marked",
        mark: { agent: "session-5", source: "marker" },
      });
    } finally {
      await fresh.stop();
    }
    expect(count(counter)).toBe(1);
  });

  it("a bad import file through the server imports nothing: refused here (file:line) or by the server's transaction", async () => {
    const before = dumpSqlite(db);
    const folder = (files: Record<string, string>): string => {
      const d = tempDir();
      for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
      return d;
    };
    // Refused here, before any request: a bad priority, named by file and line.
    const bad = folder({ "good.md": "---\ncategory: x\n---\n# good\n", "broken.md": "---\npriority: high\n---\n" });
    const r1 = cli(["task", "import", bad, "--json"], { env: remote(0), cwd: bad });
    expect(r1.code).toBe(2);
    expect(json(r1.stdout).error.message).toMatch(/broken\.md:2: priority must be an integer/);
    // Refused by the library's check here (a task blocked by itself), before any request.
    const self = folder({ "a.md": "---\nblocked_by: [a]\n---\n# a\n", "b.md": "# b\n" });
    const r2 = cli(["task", "import", self, "--json"], { env: remote(0), cwd: self });
    expect(r2.code).toBe(2);
    expect(json(r2.stdout).error).toMatchObject({ code: "BAD_INPUT", message: "task a cannot be blocked by itself" });
    // Refused by the server's transaction (a blocker no task is): the good file beside it not written either.
    const unknown = folder({ "c.md": "# c\n", "d.md": "---\nblocked_by: [c, missing]\n---\n# d\n" });
    const r3 = cli(["task", "import", unknown, "--json"], { env: remote(0), cwd: unknown });
    expect(r3.code).toBe(2);
    expect(json(r3.stdout).error).toMatchObject({ code: "BLOCKER_UNKNOWN", details: { origin: "d.md:2" } });
    expect(dumpSqlite(db)).toBe(before);
  });

  it("a 1,000-task backlog imports in one request, all or nothing, idempotent; past the route's limit is 413 BODY_TOO_LARGE", async () => {
    const folder = backlog(1000);
    // The request is larger than the 64 KiB the other routes take.
    const sent = JSON.stringify({ tasks: readMarkdownTasks(folder, cwd) });
    expect(Buffer.byteLength(sent)).toBeGreaterThan(64 * 1024);
    const first = cli(["task", "import", folder, "--json"], { env: remote(0), cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(json(first.stdout)).toMatchObject({ ok: true, updated: [], unchanged: [] });
    expect(json(first.stdout).created).toHaveLength(1000);
    const again = cli(["task", "import", folder, "--json"], { env: remote(0), cwd });
    expect(json(again.stdout).unchanged).toHaveLength(1000);
    const shown = cli(["task", "show", "task-0007", "--json"], { env: remote(0), cwd });
    expect(json(shown.stdout).task).toMatchObject({
      blockedBy: ["task-0006"],
      paths: ["src/api/module-7/", "tests/api/"],
      meta: { owner_team: "team-7", estimate: "3d" },
    });
    // Past the import route's limit: 413 with the code and the limit; the other routes keep 64 KiB.
    // Only the headers: the server refuses from the declared length alone (a client that went on
    // sending might see the connection close before it reads the answer: the CLI checks first).
    const post = (route: string, bytes: number): Promise<{ status: number; body: Record<string, any> }> =>
      new Promise((resolve, reject) => {
        const req = request(
          `${server.url}${route}`,
          {
            method: "POST",
            headers: {
              authorization: `Bearer ${tokens[0]}`,
              "content-type": "application/json",
              "content-length": String(bytes),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, body: json(Buffer.concat(chunks).toString("utf8")) });
            });
          },
        );
        req.on("error", reject);
        req.flushHeaders();
      });
    const huge = await post("/v1/task/import", TASK_IMPORT_BODY_LIMIT + 1024);
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ ok: false, code: "BODY_TOO_LARGE", details: { limit: TASK_IMPORT_BODY_LIMIT } });
    expect(huge.body.message).toContain(`/v1/task/import accepts at most ${TASK_IMPORT_BODY_LIMIT} bytes`);
    const claim = await post("/v1/claim", 100 * 1024);
    expect(claim).toMatchObject({ status: 413, body: { code: "BODY_TOO_LARGE", details: { limit: 64 * 1024 } } });
    expect(json(cli(["task", "list", "--limit", "2000", "--json"], { env: remote(0), cwd }).stdout).tasks).toHaveLength(
      1000,
    );
  }, 120_000);

  it("an import a server would refuse for its size is refused here, before anything is sent: more than 10,000 tasks, more than 16 MiB", async () => {
    const before = dumpSqlite(db);
    const issues = join(tempDir(), "issues.json");
    writeFileSync(
      issues,
      JSON.stringify(
        Array.from({ length: 10_001 }, (_, i) => ({
          number: i + 1,
          title: `issue ${i + 1}`,
          labels: [],
          state: "OPEN",
          url: `https://github.com/o/r/issues/${i + 1}`,
        })),
      ),
    );
    const many = cli(["task", "import", issues, "--json"], { env: remote(0), cwd });
    expect(many.code, many.stderr).toBe(2);
    expect(json(many.stdout).error).toMatchObject({ code: "BAD_INPUT" });
    expect(json(many.stdout).error.message).toMatch(
      /^cannot import 10001 tasks through a server in one request \(at most 10000\)/,
    );
    // 1,200 tasks of 15 KB metadata each: about 18 MB.
    const big = tempDir("baton-big-backlog-");
    for (let i = 0; i < 1200; i++)
      writeFileSync(join(big, `big-${i}.md`), `---\nnotes: ${"n".repeat(15_000)}\n---\n# big ${i}\n`);
    const large = cli(["task", "import", big, "--json"], { env: remote(0), cwd });
    expect(large.code, large.stderr).toBe(2);
    expect(json(large.stdout).error).toMatchObject({
      code: "BODY_TOO_LARGE",
      details: { limit: TASK_IMPORT_BODY_LIMIT },
    });
    expect(dumpSqlite(db)).toBe(before);
  }, 120_000);

  it("check through the server: --token is the fencing token, the bearer comes from BATON_TOKEN", async () => {
    const claimed = cli(["claim", "deploy:prod", "--json"], { env: remote(6), cwd });
    const token = String(json(claimed.stdout).claim.token);
    const ok = cli(["check", "deploy:prod", "--token", token], { env: remote(7), cwd });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^token ${token} holds deploy:prod \\(session-6, expires `));
    const stale = cli(["check", "deploy:prod", "--token", String(Number(token) + 1), "--json"], {
      env: remote(7),
      cwd,
    });
    expect(stale.code).toBe(1);
    expect(json(stale.stdout)).toMatchObject({ ok: false, code: "TOKEN_STALE" });
    // Without BATON_TOKEN there is no bearer (--token is not one here): UNAUTHENTICATED, exit 2.
    const none = cli(["check", "deploy:prod", "--token", token, "--json"], {
      env: { BATON_URL: server.url },
      cwd,
    });
    expect(none.code).toBe(2);
    expect(json(none.stdout).error.code).toBe("UNAUTHENTICATED");
  });
});

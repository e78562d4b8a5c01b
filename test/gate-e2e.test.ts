/**
 * `baton gate` end to end: a side effect fires once per window however many agents
 * see its trigger, on SQLite and PostgreSQL; windows, failures and retries, --wait,
 * --once-only, SIGKILL between run and mark, marker files, content keys, the audit.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliStores } from "./contract/targets.js";
import { CLI, cleanEnv, cli, cliAsync, ROOT, sleepUntil, tempDir, until } from "./helpers.js";

const json = (s: string) => JSON.parse(s) as Record<string, any>;

/** A command that appends one line to `counter` (the side effect we count). */
function effect(counter: string, extra = ""): string[] {
  return ["--", process.execPath, "-e", `require("fs").appendFileSync(${JSON.stringify(counter)}, "x\\n");${extra}`];
}
const count = (counter: string): number =>
  existsSync(counter) ? readFileSync(counter, "utf8").split("\n").filter(Boolean).length : 0;

describe.each(cliStores("gate"))("gate on %s", (_name, store) => {
  it("20 processes fire the same gate at once: the command runs exactly once", async () => {
    const env = store();
    const counter = join(tempDir(), "sent");
    // Create the schema first so the race is about the gate, not the first open.
    expect(cli(["gate", "check", "warmup"], { env }).code).toBe(0);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        cliAsync(
          [
            "gate",
            "run",
            "notify:tekla/sven-auth",
            "--as",
            `session-${i}`,
            "--json",
            ...effect(counter, "setTimeout(()=>{},300)"),
          ],
          { env },
        ),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(count(counter)).toBe(1);
    const outcomes = results.map((r) => json(r.stdout).outcome);
    expect(outcomes.filter((o) => o === "ran")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "skipped")).toHaveLength(19);
  });

  it("a skip is a `skipped` event, shown by gate list and check, never a denial: three skips leave supply healthy", async () => {
    const env = store();
    const counter = join(tempDir(), "sent");
    expect(cli(["task", "add", "t1", "--title", "work left"], { env }).code).toBe(0);
    expect(cli(["gate", "run", "digest:weekly", "--as", "sender", ...effect(counter)], { env }).code).toBe(0);
    for (let i = 0; i < 3; i++) {
      const r = cli(["gate", "run", "digest:weekly", "--as", "late", "--json", ...effect(counter)], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(json(r.stdout)).toMatchObject({ outcome: "skipped", reason: "marked" });
    }
    // A sibling running it right now is a skip too (reason busy), not a denial.
    const go = join(tempDir(), "go");
    const started = join(tempDir(), "started");
    const holder = cliAsync(
      [
        "gate",
        "run",
        "deploy:notes",
        "--as",
        "sender",
        "--",
        process.execPath,
        "-e",
        `const f=require("fs");f.writeFileSync(${JSON.stringify(started)},"");const t=setInterval(()=>{if(f.existsSync(${JSON.stringify(go)}))clearInterval(t)},20)`,
      ],
      { env },
    );
    // The command runs under the gate's lock: once it has started, the gate is busy.
    await until("the holder's command to start", () => existsSync(started));
    const busy = cli(["gate", "run", "deploy:notes", "--as", "late", "--json", ...effect(counter)], { env });
    expect(json(busy.stdout)).toMatchObject({ outcome: "skipped", reason: "busy", holder: "sender" });
    writeFileSync(go, "");
    expect((await holder).code).toBe(0);
    expect(count(counter)).toBe(1);

    const skips = json(cli(["log", "--kind", "skipped", "--json"], { env }).stdout).events;
    expect(skips.map((e: any) => [e.key, e.agent, e.detail.reason])).toEqual([
      ["gate:digest:weekly", "late", "marked"],
      ["gate:digest:weekly", "late", "marked"],
      ["gate:digest:weekly", "late", "marked"],
      ["gate:deploy:notes", "late", "busy"],
    ]);
    expect(json(cli(["log", "--kind", "denied", "--json"], { env }).stdout).events).toEqual([]);
    const supply = json(cli(["supply", "--json"], { env }).stdout);
    expect(supply.verdict).toBe("healthy");
    expect(supply.denials).toEqual({});
    const context = cli(["context", "--as", "late"], { env }).stdout;
    expect(context).not.toContain("stop shopping");
    expect(context).toContain("late: 0 denials");
    expect(cli(["gate", "check", "digest:weekly"], { env }).stdout).toMatch(
      /done by sender at .* — skipped 3 times since \(last by late at /,
    );
    const marks = json(cli(["gate", "list", "--json"], { env }).stdout).marks;
    expect(marks.find((m: any) => m.key === "gate:digest:weekly")).toMatchObject({
      skips: 3,
      lastSkip: { agent: "late" },
    });
    expect(cli(["gate", "list"], { env }).stdout).toMatch(/gate:digest:weekly {2}sender .* — skipped 3 times since/);
  });
});

describe("gate run", () => {
  const env = () => ({ BATON_DB: join(tempDir(), "gate.db"), BATON_AGENT: "agent-1" });

  it("skips a marked gate (stderr, exit 0; -q silent; --strict exit 1) until the window passes", async () => {
    const e = env();
    const counter = join(tempDir(), "sent");
    // The window is each call's: an hour, which the calls below never outlast however loaded the
    // machine, and then a second, which has passed once we wait it out from the mark.
    expect(cli(["gate", "run", "g", "--window", "1h", ...effect(counter)], { env: e }).code).toBe(0);
    const skipped = cli(["gate", "run", "g", "--window", "1h", "--as", "agent-2", ...effect(counter)], { env: e });
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(/^skipped: done by agent-1 at \S+Z\n$/);
    expect(cli(["gate", "run", "g", "--window", "1h", "-q", ...effect(counter)], { env: e }).stderr).toBe("");
    expect(cli(["gate", "run", "g", "--window", "1h", "--strict", ...effect(counter)], { env: e }).code).toBe(1);
    const marked = cli(["gate", "check", "g", "--window", "1h", "--json"], { env: e });
    expect(marked.code).toBe(1);
    expect(count(counter)).toBe(1);
    // The window runs from the mark: wait until a second has passed since, no longer.
    await sleepUntil(Date.parse(json(marked.stdout).mark.at) + 1_001);
    expect(cli(["gate", "check", "g", "--window", "1h"], { env: e }).code).toBe(1);
    expect(cli(["gate", "check", "g", "--window", "1s"], { env: e }).code).toBe(0);
    expect(cli(["gate", "run", "g", "--window", "1s", ...effect(counter)], { env: e }).code).toBe(0);
    expect(count(counter)).toBe(2);
  });

  it("a failing command leaves no mark and returns its code, so a retry fires", () => {
    const e = env();
    const counter = join(tempDir(), "sent");
    expect(cli(["gate", "run", "g", ...effect(counter, "process.exit(7)")], { env: e }).code).toBe(7);
    expect(cli(["gate", "check", "g"], { env: e }).code).toBe(0);
    expect(cli(["gate", "run", "g", ...effect(counter)], { env: e }).code).toBe(0);
    expect(count(counter)).toBe(2);
    expect(cli(["gate", "run", "g", ...effect(counter)], { env: e }).code).toBe(0);
    expect(count(counter)).toBe(2);
  });

  it("--wait waits for a sibling: skips if it marked, runs if it failed", async () => {
    const e = env();
    const counter = join(tempDir(), "sent");
    // a's command runs until the test lets it finish (the `go` file), so b finds it running.
    const go = join(tempDir(), "go");
    const hold = `setInterval(()=>{if(require("fs").existsSync(${JSON.stringify(go)}))process.exit(0)},10)`;
    const first = cliAsync(["gate", "run", "ok", "--as", "a", ...effect(counter, hold)], { env: e });
    await until("a's command to start", () => count(counter) === 1);
    const busy = cli(["gate", "run", "ok", "--as", "b", ...effect(counter)], { env: e });
    expect(busy.stderr).toContain("skipped: a is running it now");
    const waiting = cliAsync(["gate", "run", "ok", "--as", "b", "--wait", "5s", ...effect(counter)], { env: e });
    await sleepUntil(Date.now() + 300); // b is waiting (were it later, it finds the mark: the same answer)
    writeFileSync(go, "");
    const waited = await waiting;
    expect((await first).code).toBe(0);
    expect(waited.code).toBe(0);
    expect(waited.stderr).toContain("skipped: done by a");
    expect(count(counter)).toBe(1);
    const other = join(tempDir(), "other");
    const failing = cliAsync(
      ["gate", "run", "bad", "--as", "a", ...effect(other, "setTimeout(()=>process.exit(3),800)")],
      { env: e },
    );
    await until("a's failing command to start", () => count(other) === 1);
    const retried = cli(["gate", "run", "bad", "--as", "b", "--wait", "5s", ...effect(counter)], { env: e });
    expect((await failing).code).toBe(3);
    expect(retried.code).toBe(0);
    expect(count(counter)).toBe(2);
  });

  it("--once-only marks before running: a failure is not retried", () => {
    const e = env();
    const counter = join(tempDir(), "sent");
    expect(cli(["gate", "run", "g", "--once-only", ...effect(counter, "process.exit(4)")], { env: e }).code).toBe(4);
    expect(cli(["gate", "check", "g"], { env: e }).code).toBe(1);
    expect(cli(["gate", "run", "g", "--once-only", ...effect(counter)], { env: e }).code).toBe(0);
    expect(count(counter)).toBe(1);
  });

  it("SIGKILL between run and mark: at least once fires again after the lock expires; once-only never does", async () => {
    const e = env();
    for (const [mode, expected] of [
      ["default", 2],
      ["--once-only", 1],
    ] as const) {
      const counter = join(tempDir(), "sent");
      const key = `kill-${mode}`;
      const extra = mode === "default" ? [] : ["--once-only"];
      const child = spawn(
        process.execPath,
        [CLI, "gate", "run", key, "--ttl", "1s", ...extra, ...effect(counter, "setTimeout(()=>{},5000)")],
        {
          env: cleanEnv(e),
          stdio: "ignore",
        },
      );
      // The effect has happened (the line is written), the mark has not (default).
      await until("the effect", () => count(counter) === 1);
      const lockedBy = Date.now(); // the 1 s lock was taken before the effect ran
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("close", resolve));
      await sleepUntil(lockedBy + 1_100); // the lock's TTL passes
      expect(cli(["gate", "run", key, "--ttl", "1s", ...extra, ...effect(counter)], { env: e }).code).toBe(0);
      expect(count(counter), mode).toBe(expected);
    }
  });

  it("honours marker files when the database is new or lost", () => {
    const markers = join(tempDir(), "marks");
    const counter = join(tempDir(), "sent");
    expect(
      cli(["gate", "run", "release:1.2.0", "--marker-dir", markers, ...effect(counter)], { env: env() }).code,
    ).toBe(0);
    const fresh = env();
    const r = cli(["gate", "run", "release:1.2.0", "--marker-dir", markers, ...effect(counter)], { env: fresh });
    expect(r.stderr).toContain("skipped: done by agent-1");
    expect(cli(["gate", "check", "release:1.2.0"], { env: { ...fresh, BATON_MARKER_DIR: markers } }).code).toBe(1);
    expect(count(counter)).toBe(1);
  });

  it("--key-from-content collapses differently named identical messages", async () => {
    const e = env();
    const counter = join(tempDir(), "sent");
    const send = (label: string, body: string) =>
      new Promise<number>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            CLI,
            "gate",
            "run",
            label,
            "--key-from-content",
            "--",
            process.execPath,
            "-e",
            `process.stdin.pipe(require("fs").createWriteStream(${JSON.stringify(counter)}, {flags:"a"}))`,
            "tekla@example.com",
          ],
          {
            env: cleanEnv(e),
            stdio: ["pipe", "ignore", "ignore"],
          },
        );
        child.stdin.end(body);
        child.once("close", (code) => resolve(code ?? -1));
      });
    expect(await send("tell-tekla-about-sven", "Sven's auth fix is live.\n")).toBe(0);
    expect(await send("notify-tekla-sven-auth", "Sven's auth fix   is live.")).toBe(0);
    expect(await send("tell-tekla", "A different message.")).toBe(0);
    expect(readFileSync(counter, "utf8")).toBe("Sven's auth fix is live.\nA different message.");
  });

  it("refuses bad input with a code and runs nothing", () => {
    const e = env();
    const counter = join(tempDir(), "sent");
    const notDir = join(tempDir(), "file");
    writeFileSync(notDir, "x");
    const cases: [string[], string][] = [
      [["gate", "run", "--json", "g", "--"], "BAD_INPUT"],
      [["gate", "run", "--json", "g", "--window", "soon", ...effect(counter)], "BAD_DURATION"],
      [["gate", "run", "--json", "g", "--marker-dir", notDir, ...effect(counter)], "BAD_MARKER_DIR"],
      [["gate", "run", "--json", "g", "--", "/no/such/program"], "BAD_INPUT"],
      [["gate", "run", "--json", "bad\u0001key", ...effect(counter)], "BAD_KEY"],
      [["audit-gates", "/no/such/path", "--json"], "BAD_INPUT"],
      [["audit-gates", "--json", "--pattern", "(unclosed"], "BAD_OPTION"],
    ];
    for (const [args, code] of cases) {
      const r = cli(args, { env: e });
      expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(json(r.stdout).error.code).toBe(code);
    }
    expect(count(counter)).toBe(0);
    expect(existsSync(e.BATON_DB)).toBe(false);
  });
});

describe("gate check, mark, list, forget", () => {
  it("marks by hand, lists, forgets (logged) so the effect can fire again", () => {
    const e = { BATON_DB: join(tempDir(), "gate.db"), BATON_AGENT: "ops" };
    expect(cli(["gate", "check", "digest:weekly"], { env: e }).code).toBe(0);
    expect(cli(["gate", "mark", "digest:weekly", "--note", "sent by hand"], { env: e }).code).toBe(0);
    expect(cli(["gate", "mark", "digest:weekly"], { env: e }).code).toBe(1);
    const check = cli(["gate", "check", "digest:weekly"], { env: e });
    expect(check.code).toBe(1);
    // The second mark was a skip: logged as `skipped` and shown by check.
    expect(check.stdout).toMatch(/^done by ops at \S+: sent by hand — skipped 1 time since \(last by ops at \S+\)\n$/);
    const marks = json(cli(["gate", "list", "--json"], { env: e }).stdout).marks;
    expect(marks.map((m: { key: string; note: string }) => [m.key, m.note])).toEqual([
      ["gate:digest:weekly", "sent by hand"],
    ]);
    expect(cli(["gate", "forget", "digest:weekly"], { env: e }).code).toBe(0);
    expect(cli(["gate", "check", "digest:weekly"], { env: e }).code).toBe(0);
    const log = json(cli(["log", "gate:digest:weekly", "--json"], { env: e }).stdout).events;
    expect(log.map((x: { kind: string }) => x.kind)).toEqual([
      "granted",
      "completed",
      "skipped",
      "granted",
      "abandoned",
    ]);
  });
});

describe("audit-gates", () => {
  it("lists unwrapped side-effect calls with file:line: pattern and exits 1", () => {
    const r = cli(["audit-gates", "test/fixtures/audit"], { cwd: ROOT });
    expect(r.code).toBe(1);
    expect(r.stdout.split("\n").filter((l) => l.includes(": ") && !l.includes("not wrapped"))).toEqual([
      "test/fixtures/audit/scripts/deploy:2: git push",
      "test/fixtures/audit/scripts/notify.sh:3: mail -s",
      "test/fixtures/audit/scripts/notify.sh:4: curl POST",
      "test/fixtures/audit/scripts/notify.sh:4: Slack webhook",
      "test/fixtures/audit/scripts/notify.sh:5: gh issue comment",
      "test/fixtures/audit/src/mailer.ts:6: SMTP send",
      "test/fixtures/audit/src/notify.py:5: SMTP send",
    ]);
    const dir = tempDir();
    writeFileSync(
      join(dir, "ok.sh"),
      "#!/bin/sh\nbaton gate run ship:1 -- npm publish\n# baton-gate: ok (scratch remote)\ngit push scratch\n",
    );
    const clean = cli(["audit-gates", dir, "--json"], { cwd: ROOT });
    expect(json(clean.stdout)).toMatchObject({ ok: true, filesScanned: 1, findings: [] });
    const extra = json(
      cli(["audit-gates", "test/fixtures/audit/scripts/notify.sh", "--pattern", "git status", "--json"], { cwd: ROOT })
        .stdout,
    );
    expect(extra.findings.map((f: { pattern: string }) => f.pattern)).toContain("git status");
  });

  it("a trailing baton-gate: ok covers its own line only; a comment alone on a line covers the next", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "release.sh"),
      "#!/bin/sh\ngit push scratch # baton-gate: ok\nnpm publish\n# baton-gate: ok (reviewed)\ngit push origin\ngh pr merge 1\n",
    );
    writeFileSync(
      join(dir, "mailer.ts"),
      "send(); // baton-gate: ok\nawait smtp.sendMail(msg);\n// baton-gate: ok\nawait smtp.sendMail(other);\n",
    );
    const r = json(cli(["audit-gates", dir, "--json"], { cwd: dir }).stdout);
    expect(
      r.findings.map((f: { file: string; line: number; pattern: string }) => `${f.file}:${f.line}: ${f.pattern}`),
    ).toEqual(["mailer.ts:2: SMTP send", "release.sh:3: npm publish", "release.sh:6: gh pr create"]);
  });
});

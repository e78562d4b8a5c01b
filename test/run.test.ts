/**
 * `baton run` for recurring work on both stores: `--release` (a mutex: released when the
 * command ends, never completed) runs a deploy twice in a row and still refuses a second
 * deploy while the first runs; `--reopen` runs completed work once more; the library's
 * `withClaim({ release: true })` does the same.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { cliStores, TARGETS } from "./contract/targets.js";
import { cli, cliAsync, tempDir } from "./helpers.js";

type Json = Record<string, any>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A "deploy": appends a line to `counter`; with `go`, first waits until that file exists. */
function deploy(counter: string, options: { go?: string; exit?: number } = {}): string[] {
  const wait =
    options.go === undefined
      ? ""
      : `while(!fs.existsSync(${JSON.stringify(options.go)})){Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,20)}`;
  return [
    "--",
    process.execPath,
    "-e",
    `const fs=require("fs");fs.appendFileSync(${JSON.stringify(counter)},"x\\n");${wait}process.exit(${options.exit ?? 0})`,
  ];
}
const count = (counter: string): number =>
  existsSync(counter) ? readFileSync(counter, "utf8").split("\n").filter(Boolean).length : 0;

describe.each(cliStores("run"))("baton run for recurring work on %s", (_name, store) => {
  const j = (args: string[], env: Record<string, string>, code = 0): Json => {
    const r = cli([args[0] ?? "", "--json", ...args.slice(1)], { env }); // --json before the command's --
    expect(r.code, `${args.join(" ")}\n${r.stdout}${r.stderr}`).toBe(code);
    return JSON.parse(r.stdout) as Json;
  };

  it("--release: two deploys in a row both run; a deploy while another runs is refused; a failure is released too", async () => {
    const env = store();
    const counter = join(tempDir(), "deploys");
    // Without --release, the second deploy of the day is refused as done — with the way out.
    const once = cli(["run", "deploy:staging", "--as", "ci", ...deploy(counter)], { env });
    expect(once.code).toBe(0);
    const again = cli(["run", "deploy:staging", "--as", "ci", ...deploy(counter)], { env });
    expect(again.code).toBe(1);
    expect(again.stdout).toContain(
      "recurring work (a deploy, a cron job) runs with baton run --release, or run once more with --reopen",
    );
    expect(count(counter)).toBe(1);

    const first = j(["run", "deploy:prod", "--release", "--as", "ci", "--commit", "abc1234", ...deploy(counter)], env);
    expect(first).toMatchObject({ ok: true, exitCode: 0, outcome: "released" });
    const second = j(["run", "deploy:prod", "--release", "--as", "ci-2", ...deploy(counter)], env);
    expect(second).toMatchObject({ ok: true, exitCode: 0, outcome: "released" });
    expect(second.token).toBeGreaterThan(first.token);
    expect(count(counter)).toBe(3);
    expect(j(["show", "deploy:prod"], env).claim).toMatchObject({ state: "released", agent: "ci-2" });
    const log = j(["log", "deploy:prod"], env).events as Json[];
    expect(log.map((e) => e.kind)).toEqual(["granted", "released", "granted", "released"]);
    expect(log[1]?.commit).toBe("abc1234");

    // A failing deploy: released, its exit code returned, and the next one runs.
    expect(cli(["run", "deploy:prod", "--release", "--as", "ci", ...deploy(counter, { exit: 5 })], { env }).code).toBe(
      5,
    );
    expect(j(["show", "deploy:prod"], env).claim).toMatchObject({ state: "released" });

    // A second deploy while the first runs: refused (exit 1), its command never runs.
    const go = join(tempDir(), "go");
    const started = count(counter);
    const running = cliAsync(["run", "deploy:prod", "--release", "--as", "ci", ...deploy(counter, { go })], { env });
    // The running deploy has counted itself (it counts first, then waits for the go file).
    while (count(counter) === started) await sleep(20);
    expect(j(["show", "deploy:prod"], env).claim).toMatchObject({ state: "active", agent: "ci" });
    const before = count(counter);
    const concurrent = j(["run", "deploy:prod", "--release", "--as", "ci-2", ...deploy(counter)], env, 1);
    expect(concurrent).toMatchObject({ ok: false, code: "CLAIM_HELD", holder: "ci" });
    expect(count(counter)).toBe(before);
    writeFileSync(go, "");
    expect((await running).code).toBe(0);
    expect(j(["run", "deploy:prod", "--release", "--as", "ci-2", ...deploy(counter)], env)).toMatchObject({
      outcome: "released",
    });
    expect(count(counter)).toBe(before + 1);
  });

  it("--reopen runs completed work once more and completes it again; --release with --result is refused before anything is claimed", () => {
    const env = store();
    const counter = join(tempDir(), "runs");
    expect(j(["run", "report:daily", "--as", "cron", "--result", "sent", ...deploy(counter)], env)).toMatchObject({
      outcome: "completed",
    });
    expect(j(["run", "report:daily", "--as", "cron", ...deploy(counter)], env, 1)).toMatchObject({
      code: "CLAIM_DONE",
    });
    expect(
      j(["run", "report:daily", "--reopen", "--as", "cron", "--result", "sent again", ...deploy(counter)], env),
    ).toMatchObject({ outcome: "completed" });
    expect(j(["show", "report:daily"], env).claim).toMatchObject({ state: "completed", result: "sent again" });
    expect(count(counter)).toBe(2);
    const bad = j(["run", "job:x", "--release", "--result", "r", "--as", "cron", ...deploy(counter)], env, 2);
    expect(bad.error).toMatchObject({ code: "BAD_INPUT" });
    expect(j(["show", "job:x"], env, 1)).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe.each(TARGETS)("withClaim({ release: true }) on $name", (target) => {
  it("releases after the function resolves, so the next run is granted", async () => {
    const baton = await openBaton(target.batonOptions());
    try {
      const options = { as: "ci", ttl: "1m", release: true, commit: "abc1234" } as const;
      const a = await baton.withClaim("deploy:prod", () => "v1", options);
      const b = await baton.withClaim("deploy:prod", () => "v2", options);
      expect([a.ok && a.outcome, b.ok && b.outcome]).toEqual(["released", "released"]);
      expect((await baton.show("deploy:prod")).claim).toMatchObject({ state: "released", commit: "abc1234" });
    } finally {
      await baton.close();
    }
  });
});

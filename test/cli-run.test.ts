/**
 * The built CLI end to end: `baton run` (renewal, completion, failure, denial, signals,
 * SIGKILL) as real processes (helpers: test/cli-helpers.ts).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allExpiredAt, dbEnv, isoSeconds, type Json, j, keys, kinds, spawnCli, workerScript } from "./cli-helpers.js";
import { cli, sleepUntil, tempDir, until } from "./helpers.js";

describe("baton run", () => {
  it("renews past its TTL while the command runs, then completes on exit 0", async () => {
    const env = dbEnv();
    const dir = tempDir();
    const worker = workerScript(dir);
    const { done } = spawnCli(
      [
        "run",
        "job:1",
        "--as",
        "runner",
        "--ttl",
        "2s",
        "--result",
        "built",
        "--commit",
        "abc1234",
        "--",
        process.execPath,
        worker,
        dir,
        "2600",
        "0",
      ],
      env,
    );
    await until("the command to run past the TTL", () => existsSync(join(dir, "ready")));
    const seen = JSON.parse(readFileSync(join(dir, "env.json"), "utf8")) as Json;
    expect(seen).toMatchObject({ key: "job:1", agent: "runner" });
    // From a second process, during the run: still live, still held, under the same token.
    const show = j(["show", "job:1"], env);
    expect(show.claim).toMatchObject({ agent: "runner", state: "active", token: Number(seen.token) });
    const grantedAt = Date.parse(show.events[0].at);
    expect(Date.parse(show.claim.expiresAt)).toBeGreaterThan(grantedAt + 2000);
    expect(cli(["check", "job:1", "--token", String(seen.token)], { env }).code).toBe(0);
    expect(j(["claim", "job:1", "--as", "other"], env, 1)).toMatchObject({ code: "CLAIM_HELD", holder: "runner" });
    writeFileSync(join(dir, "go"), "1");
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^baton: claimed job:1 \(token \d+/);
    expect(result.stderr).toMatch(/baton: completed job:1 \(token \d+, commit abc1234\)\n$/);
    expect(j(["show", "job:1"], env).claim).toMatchObject({
      state: "completed",
      result: "built",
      commit: "abc1234",
      token: Number(seen.token),
    });
    const log = kinds(j(["log", "job:1"], env).events);
    expect(log[0]).toBe("granted");
    expect(log.filter((k) => k === "renewed").length).toBeGreaterThanOrEqual(1);
    expect(log.at(-1)).toBe("completed");
  });

  it("a failing command: released, and its exit code returned", () => {
    const env = dbEnv();
    const r = cli(["run", "job:1", "--as", "a", "--", process.execPath, "-e", "process.exit(7)"], { env });
    expect(r.code).toBe(7);
    expect(j(["show", "job:1"], env).claim).toMatchObject({ state: "released", agent: "a" });
    const json = j(["run", "job:1", "--as", "a", "--", process.execPath, "-e", "process.exit(3)"], env, 3);
    expect(json).toMatchObject({ ok: false, key: "job:1", exitCode: 3, outcome: "released", lost: false });
    const ok = j(["run", "job:1", "--as", "a", "--result", "fine", "--", process.execPath, "-e", ""], env);
    expect(ok).toMatchObject({ ok: true, exitCode: 0, outcome: "completed" });
    expect(kinds(j(["log", "job:1"], env).events)).toEqual([
      "granted",
      "released",
      "granted",
      "released",
      "granted",
      "completed",
    ]);
  });

  it("denied or done: exit 1 and the command never runs; a command that cannot be found: exit 2, nothing claimed", () => {
    const env = dbEnv();
    const marker = join(tempDir(), "ran");
    const touch = ["--", process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`];
    j(["claim", "held", "--as", "other"], env);
    const denied = cli(["run", "held", "--as", "a", ...touch], { env });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^denied: held is held by other since /);
    expect(existsSync(marker)).toBe(false);
    j(["claim", "done", "--as", "other"], env);
    j(["complete", "done", "--as", "other"], env);
    const redo = j(["run", "done", "--as", "a", ...touch], env, 1);
    expect(redo).toMatchObject({ code: "CLAIM_DONE" });
    expect(existsSync(marker)).toBe(false);
    expect(j(["show", "held"], env).claim).toMatchObject({ agent: "other", state: "active" });
    const missing = j(["run", "fresh", "--as", "a", "--", "no-such-command-baton-test"], env, 2);
    expect(missing.error).toMatchObject({ code: "BAD_INPUT" });
    expect(j(["show", "fresh"], env, 1)).toMatchObject({ code: "NOT_FOUND" });
    expect(j(["run", "fresh", "--as", "a"], env, 2).error).toMatchObject({ code: "BAD_INPUT" });
    expect(j(["show", "fresh"], env, 1)).toMatchObject({ code: "NOT_FOUND" });
  });

  it("forwards SIGTERM to the command, releases, and exits with the command's code", async () => {
    const env = dbEnv();
    const dir = tempDir();
    const { child, done } = spawnCli(
      ["run", "job:term", "--as", "a", "--", process.execPath, workerScript(dir), dir, "0", "0"],
      env,
    );
    await until("the command to start", () => existsSync(join(dir, "ready")));
    child.kill("SIGTERM");
    const result = await done;
    expect(result.code).toBe(3);
    expect(existsSync(join(dir, "terminated"))).toBe(true);
    expect(j(["show", "job:term"], env).claim).toMatchObject({ state: "released", agent: "a" });
  });

  it("killed with SIGKILL, leaves a claim that expires and reap turns into a loose end", async () => {
    const env = dbEnv();
    const dir = tempDir();
    const { child, done } = spawnCli(
      ["run", "job:kill", "--as", "a", "--ttl", "1s", "--", process.execPath, workerScript(dir), dir, "0", "0"],
      env,
    );
    await until("the command to start", () => existsSync(join(dir, "ready")));
    const seen = JSON.parse(readFileSync(join(dir, "env.json"), "utf8")) as Json;
    child.kill("SIGKILL");
    // The orphaned command is ours too (and holds the pipes open): stop it.
    try {
      process.kill(Number(seen.pid), "SIGKILL");
    } catch {
      // already gone
    }
    await done;
    const left = j(["show", "job:kill"], env).claim;
    expect(left).toMatchObject({ agent: "a", token: Number(seen.token) });
    expect(["active", "expired"]).toContain(left.state);
    // Nothing renews it any more: its TTL passes, no longer.
    await sleepUntil(allExpiredAt(left));
    expect(j(["show", "job:kill"], env).claim.state).toBe("expired");
    expect(j(["reap", "--min-age", "24h"], env).reaped).toEqual([]);
    const reap = cli(["reap", "--min-age", "0s"], { env });
    expect(reap.code).toBe(0);
    const expires = isoSeconds(j(["show", "job:kill"], env).claim.expiresAt);
    expect(reap.stdout).toBe(
      `reaped 1 stale claim (expired >0ms) -> abandoned\n  loose end: job:kill  (a, token ${seen.token}, expired ${expires})\n`,
    );
    expect(j(["show", "job:kill"], env).claim).toMatchObject({ state: "abandoned", agent: "a" });
    expect(kinds(j(["log", "job:kill"], env).events).at(-1)).toBe("reaped");
    expect(keys(j(["list", "--state", "abandoned"], env).claims)).toEqual(["job:kill"]);
  });
});

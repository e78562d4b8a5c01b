/**
 * The built CLI end to end: the seed verbs under both names (`baton`, `coordination`),
 * and expiry and takeover (helpers: test/cli-helpers.ts).
 *
 * Real time is used only where expiry is the point (1–1.5 s TTLs), waited out to the
 * claims' own expiry times, never asserting how long something took.
 */
import { describe, expect, it } from "vitest";
import { allExpiredAt, binFor, coordination, dbEnv, isoSeconds, type Json, j, keys, kinds } from "./cli-helpers.js";
import { cli, sleepUntil } from "./helpers.js";

describe.each(["baton", "coordination"] as const)("seed verbs under %s", (name) => {
  it("work-claim, work-list, work-complete, work-abandon, work-reap print the seed's lines", () => {
    const env = dbEnv();
    const bin = binFor(name);
    const run = (args: string[]) => cli(args, { env, bin });
    const key = "github:gptme/gptme#2880";
    expect(run(["work-claim", "session-7f8b", key, "--ttl", "60"])).toMatchObject({
      code: 0,
      stdout: `claimed ${key} (expires in 60 min)\n`,
      stderr: "",
    });
    const held = j(["show", key], env).claim;
    expect(held).toMatchObject({ agent: "session-7f8b", state: "active" });
    expect(Date.parse(held.expiresAt) - Date.parse(held.claimedAt)).toBe(3_600_000);
    const denied = run(["work-claim", "session-9a2c", key, "--ttl", "60"]);
    expect(denied).toMatchObject({
      code: 1,
      stdout: `DENIED: already claimed by session-7f8b (expires ${isoSeconds(held.expiresAt)})\n`,
    });
    expect(denied.stdout).toMatch(
      /^DENIED: already claimed by session-7f8b \(expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n$/,
    );
    // The same session again: still claimed (renewed), same token.
    expect(run(["work-claim", "session-7f8b", key, "--ttl", "90"])).toMatchObject({
      code: 0,
      stdout: `claimed ${key} (expires in 90 min)\n`,
    });
    expect(j(["show", key], env).claim.token).toBe(held.token);
    expect(run(["work-claim", "s3", "task:half", "--ttl", "30s"])).toMatchObject({
      code: 0,
      stdout: "claimed task:half (expires in 0.5 min)\n",
    });
    const list = run(["work-list"]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("github"))).toEqual([
      `${key}  session-7f8b  (expires ${isoSeconds(j(["show", key], env).claim.expiresAt)})`,
    ]);
    expect(run(["work-complete", "session-9a2c", key, "--result", "merged"])).toMatchObject({ code: 1 });
    expect(run(["work-complete", "session-9a2c", key]).stdout).toMatch(/^NOT HELD: session-9a2c does not hold /);
    expect(run(["work-complete", "session-7f8b", key, "--result", "merged"])).toMatchObject({
      code: 0,
      stdout: `completed ${key}\n`,
    });
    expect(j(["show", key], env).claim).toMatchObject({ state: "completed", result: "merged", agent: "session-7f8b" });
    const redo = run(["work-claim", "session-9a2c", key, "--ttl", "60"]);
    expect(redo.code).toBe(1);
    expect(redo.stdout).toMatch(
      /^DENIED: github:gptme\/gptme#2880 was done by session-7f8b at \S+: merged — verify instead of redoing/,
    );
    expect(run(["work-abandon", "s3", "task:half", "--reason", "superseded"])).toMatchObject({
      code: 0,
      stdout: "abandoned task:half\n",
    });
    expect(j(["show", "task:half"], env).claim).toMatchObject({ state: "abandoned", reason: "superseded" });
    expect(run(["work-abandon", "s3", "task:half"])).toMatchObject({ code: 1 });
    expect(run(["work-reap", "--min-age-hours", "24"])).toMatchObject({
      code: 0,
      stdout: "reaped 0 stale claims (expired >24h) -> abandoned\n",
    });
    expect(run(["work-reap"])).toMatchObject({
      code: 0,
      stdout: "reaped 0 stale claims (expired >24h) -> abandoned\n",
    });
    expect(run(["work-list"])).toMatchObject({ code: 0, stdout: "" });
    expect(kinds(j(["log", key], env).events)).toEqual(["granted", "denied", "renewed", "completed", "denied"]);
  });

  it("the native commands work under the same name, and help names the program", () => {
    const env = dbEnv();
    const bin = binFor(name);
    expect(cli(["claim", "task:1", "--as", "a"], { env, bin }).code).toBe(0);
    expect(cli(["claim", "task:1", "--as", "b"], { env, bin }).code).toBe(1);
    expect(j(["list"], env, 0, { bin }).claims).toHaveLength(1);
    const help = cli(["--help"], { env, bin });
    expect(help.code).toBe(0);
    expect(help.stdout.split("\n")[0]).toBe(`Usage: ${name} [options] [command]`);
    expect(help.stdout).toContain("work-claim [options] <session> <key>");
  });
});

describe("expiry and takeover", () => {
  it("an expired holder cannot renew or complete; another agent takes over with a larger token; reap", async () => {
    const env = dbEnv();
    const a = j(["claim", "lane:1", "--as", "a", "--ttl", "1s"], env).claim;
    const lanes = [
      a,
      j(["claim", "lane:2", "--as", "a", "--ttl", "1s"], env).claim,
      j(["claim", "lane:3", "--as", "c", "--ttl", "1500ms"], env).claim,
      j(["work-claim", "s9", "lane:4", "--ttl", "1s"], env, 0, { bin: coordination() }).claim,
      j(["claim", "lane:5", "--as", "d", "--ttl", "1s"], env).claim,
    ];
    await sleepUntil(allExpiredAt(...lanes)); // every lane's TTL passes, no longer
    expect(j(["list", "--state", "active"], env).claims).toEqual([]);
    expect(keys(j(["list", "--state", "expired"], env).claims).sort()).toEqual([
      "lane:1",
      "lane:2",
      "lane:3",
      "lane:4",
      "lane:5",
    ]);
    // Expired is not live: the old holder cannot act on it; its token no longer checks.
    const renew = cli(["renew", "lane:1", "--as", "a"], { env });
    expect(renew.code).toBe(1);
    expect(renew.stdout).toBe(`a's claim on lane:1 expired at ${a.expiresAt}; claim it again before acting\n`);
    expect(j(["renew", "lane:1", "--as", "a"], env, 1)).toMatchObject({ ok: false, code: "CLAIM_EXPIRED" });
    expect(j(["complete", "lane:1", "--as", "a", "--result", "late"], env, 1)).toMatchObject({
      ok: false,
      code: "CLAIM_EXPIRED",
    });
    expect(j(["check", "lane:1", "--token", String(a.token)], env, 1)).toMatchObject({ code: "CLAIM_EXPIRED" });
    expect(j(["show", "lane:1"], env).claim).toMatchObject({ state: "expired", agent: "a", result: null });
    // Another agent takes over with a larger token.
    const b = j(["claim", "lane:1", "--as", "b"], env);
    expect(b).toMatchObject({ outcome: "granted", claim: { agent: "b" }, previous: { agent: "a", state: "expired" } });
    expect(b.claim.token).toBeGreaterThan(a.token);
    expect(j(["renew", "lane:1", "--as", "a"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    expect(j(["complete", "lane:1", "--as", "a"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    expect(j(["release", "lane:1", "--as", "a"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    expect(j(["check", "lane:1", "--token", String(a.token)], env, 1)).toMatchObject({ code: "TOKEN_STALE" });
    expect(cli(["check", "lane:1", "--token", String(b.claim.token)], { env }).code).toBe(0);
    // Release and abandon still work on my expired claim while nobody took it over.
    expect(j(["release", "lane:2", "--as", "a"], env)).toMatchObject({ outcome: "released" });
    expect(j(["abandon", "lane:3", "--as", "c", "--reason", "gave up"], env)).toMatchObject({ outcome: "abandoned" });
    // Reap honours --min-age, under both names.
    expect(j(["reap"], env).reaped).toEqual([]);
    expect(cli(["reap", "--min-age", "1h"], { env }).stdout).toBe("reaped 0 stale claims (expired >1h) -> abandoned\n");
    expect(cli(["work-reap", "--min-age-hours", "24"], { env, bin: coordination() }).stdout).toBe(
      "reaped 0 stale claims (expired >24h) -> abandoned\n",
    );
    const reaped = cli(["work-reap", "--min-age-hours", "0"], { env, bin: coordination() });
    expect(reaped).toMatchObject({ code: 0, stdout: "reaped 2 stale claims (expired >0h) -> abandoned\n" });
    expect(keys(j(["list", "--state", "abandoned"], env).claims).sort()).toEqual(["lane:3", "lane:4", "lane:5"]);
    expect(j(["list", "--state", "expired"], env).claims).toEqual([]);
    expect(
      j(["log", "--kind", "reaped"], env)
        .events.map((e: Json) => e.key)
        .sort(),
    ).toEqual(["lane:4", "lane:5"]);
    expect(j(["reap", "--min-age", "0s"], env)).toMatchObject({ ok: true, reaped: [] });
    // A reaped loose end can be claimed again, with a larger token.
    const again = j(["claim", "lane:5", "--as", "e"], env);
    expect(again).toMatchObject({ outcome: "granted", previous: { state: "abandoned", agent: "d" } });
    expect(again.claim.token).toBeGreaterThan(b.claim.token);
  });
});

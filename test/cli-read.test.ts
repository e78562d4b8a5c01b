/**
 * The built CLI end to end: show, list, log and check, and `--json` printing exactly one
 * object for every command (helpers: test/cli-helpers.ts).
 *
 * Real time is used only where expiry is the point (a 1 s TTL), waited out to the
 * claim's own expiry time, never asserting how long something took.
 */
import { describe, expect, it } from "vitest";
import { allExpiredAt, dbEnv, isoSeconds, type Json, j, keys, kinds } from "./cli-helpers.js";
import { cli, sleepUntil } from "./helpers.js";

describe("show, list, log, check", () => {
  it("show: the state and the latest events; never claimed is exit 1 NOT_FOUND", () => {
    const env = dbEnv();
    const g = j(["claim", "topic:x", "--as", "a", "--meta", '{"issue":7}'], env).claim;
    cli(["claim", "topic:x", "--as", "b"], { env });
    const human = cli(["show", "topic:x"], { env });
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines.slice(0, 5)).toEqual([
      "key:      topic:x",
      "state:    active (expires in 59m)",
      `holder:   a (token ${g.token}) since ${isoSeconds(g.claimedAt)}`,
      `expires:  ${isoSeconds(g.expiresAt)}`,
      'meta:     {"issue":7}',
    ]);
    expect(lines[5]).toBe("events:");
    expect(lines[6]).toMatch(new RegExp(`granted\\s+topic:x\\s+a\\s+token=${g.token}$`));
    expect(lines[7]).toMatch(/denied\s+topic:x\s+b\s+\(CLAIM_HELD: a\)$/);
    const json = j(["show", "topic:x"], env);
    expect(json).toMatchObject({
      ok: true,
      key: "topic:x",
      claim: { agent: "a", state: "active", meta: { issue: 7 } },
    });
    expect(kinds(json.events)).toEqual(["granted", "denied"]);
    const missing = cli(["show", "topic:never"], { env });
    expect(missing).toMatchObject({ code: 1, stdout: "topic:never: never claimed\n" });
    expect(j(["show", "topic:never"], env, 1)).toMatchObject({ ok: false, code: "NOT_FOUND", claim: null, events: [] });
  });

  it("list: live claims by default; --state, --agent, --mine, --prefix, --limit", () => {
    const env = dbEnv();
    expect(cli(["list"], { env }).stdout).toBe("no live claims\n");
    j(["claim", "github:acme/api#1", "--as", "a"], env);
    j(["claim", "github:acme/api#2", "--as", "b"], env);
    j(["claim", "github:acme/web#3", "--as", "a"], env);
    j(["claim", "task:4", "--as", "b"], env);
    j(["claim", "task:5", "--as", "c"], env);
    j(["complete", "github:acme/api#2", "--as", "b"], env);
    j(["release", "task:4", "--as", "b"], env);
    j(["abandon", "task:5", "--as", "c", "--reason", "r"], env);
    // Newest grant first.
    expect(keys(j(["list"], env).claims)).toEqual(["github:acme/web#3", "github:acme/api#1"]);
    expect(keys(j(["list", "--state", "active"], env).claims)).toEqual(["github:acme/web#3", "github:acme/api#1"]);
    expect(keys(j(["list", "--state", "completed"], env).claims)).toEqual(["github:acme/api#2"]);
    expect(keys(j(["list", "--state", "released,abandoned"], env).claims)).toEqual(["task:5", "task:4"]);
    expect(j(["list", "--state", "expired"], env).claims).toEqual([]);
    expect(keys(j(["list", "--state", "all"], env).claims)).toHaveLength(5);
    expect(keys(j(["list", "--state", "all", "--agent", "b"], env).claims)).toEqual(["task:4", "github:acme/api#2"]);
    expect(keys(j(["list", "--mine", "--as", "a"], env).claims)).toEqual(["github:acme/web#3", "github:acme/api#1"]);
    expect(keys(j(["list", "--mine", "--state", "all"], { ...env, BATON_AGENT: "c" }).claims)).toEqual(["task:5"]);
    expect(keys(j(["list", "--prefix", "github:acme/api", "--state", "all"], env).claims)).toEqual([
      "github:acme/api#2",
      "github:acme/api#1",
    ]);
    expect(keys(j(["list", "--prefix", "github:"], env).claims)).toEqual(["github:acme/web#3", "github:acme/api#1"]);
    expect(keys(j(["list", "--state", "all", "--limit", "2"], env).claims)).toEqual(["task:5", "task:4"]);
    const table = cli(["list", "--state", "all", "--agent", "a"], { env }).stdout.trimEnd().split("\n");
    expect(table[0]).toMatch(/^KEY\s+AGENT\s+TOKEN\s+STATE\s+WHEN$/);
    expect(table[1]).toMatch(/^github:acme\/web#3\s+a\s+\d+\s+active\s+expires in 59m$/);
    expect(table[2]).toMatch(/^github:acme\/api#1\s+a\s+\d+\s+active\s+expires in 59m$/);
    expect(cli(["list", "--state", "expired"], { env }).stdout).toBe("no claims\n");
  });

  it("log: oldest first, every kind, filtered by KEY, --agent, --kind, --since, --limit", async () => {
    const env = dbEnv();
    j(["claim", "k:2", "--as", "a"], env);
    j(["claim", "k:2", "--as", "b"], env, 1); // denied
    j(["renew", "k:2", "--as", "a"], env); // renewed
    j(["complete", "k:2", "--as", "a", "--result", "ok"], env); // completed
    j(["claim", "k:3", "--as", "b"], env);
    j(["release", "k:3", "--as", "b"], env); // released
    j(["claim", "k:4", "--as", "c"], env);
    j(["abandon", "k:4", "--as", "c", "--reason", "stuck"], env); // abandoned
    const k1 = j(["claim", "k:1", "--as", "a", "--ttl", "1s"], env).claim;
    await sleepUntil(allExpiredAt(k1)); // the TTL passes, no longer
    const reap = j(["reap", "--min-age", "0s", "--as", "reaper"], env); // reaped
    expect(keys(reap.reaped)).toEqual(["k:1"]);
    const all = j(["log"], env).events;
    expect(kinds(all)).toEqual([
      "granted",
      "denied",
      "renewed",
      "completed",
      "granted",
      "released",
      "granted",
      "abandoned",
      "granted",
      "reaped",
    ]);
    const ids = all.map((e: { id: number }) => e.id);
    expect(ids).toEqual([...ids].sort((x: number, y: number) => x - y));
    expect(all[9]).toMatchObject({ kind: "reaped", key: "k:1", agent: "a", detail: { by: "reaper" } });
    const human = cli(["log"], { env }).stdout.trimEnd().split("\n");
    expect(human).toHaveLength(10);
    expect(human[1]).toMatch(/^\S+Z\s+denied\s+k:2\s+b\s+\(CLAIM_HELD: a\)$/);
    expect(human[3]).toMatch(/completed\s+k:2\s+a\s+token=\d+\s+result="ok"$/);
    expect(human[7]).toMatch(/abandoned\s+k:4\s+c\s+token=\d+\s+reason="stuck"$/);
    expect(human[9]).toMatch(/reaped\s+k:1\s+a\s+token=\d+\s+by=reaper$/);
    expect(kinds(j(["log", "k:2"], env).events)).toEqual(["granted", "denied", "renewed", "completed"]);
    expect(kinds(j(["log", "--agent", "b"], env).events)).toEqual(["denied", "granted", "released"]);
    expect(kinds(j(["log", "k:2", "--agent", "a"], env).events)).toEqual(["granted", "renewed", "completed"]);
    expect(j(["log", "--kind", "denied,reaped"], env).events.map((e: Json) => `${e.kind} ${e.key}`)).toEqual([
      "denied k:2",
      "reaped k:1",
    ]);
    // --limit: the newest N, still oldest first.
    expect(kinds(j(["log", "--limit", "3"], env).events)).toEqual(["abandoned", "granted", "reaped"]);
    expect(j(["log", "k:404"], env).events).toEqual([]);
    expect(cli(["log", "k:404"], { env }).stdout).toBe("no events\n");
    // --since: a window that starts 1 ms after k:1's grant (the ninth event) by the
    // clock of the test. The CLI reads its own clock later, so its window starts
    // somewhere in [grant + 1, grant + 1 + the call's duration]: the grant is never in
    // it, and the reap (at least the 1 s TTL later) is whenever the call took less.
    const grantAt = Date.parse(all[8].at);
    const reapAt = Date.parse(all[9].at);
    expect(reapAt - grantAt).toBeGreaterThanOrEqual(1000);
    const before = Date.now();
    const since = before - grantAt - 1;
    const windowed = kinds(j(["log", "--since", `${since}ms`], env).events);
    const latestStart = Date.now() - since;
    if (reapAt >= latestStart) expect(windowed).toEqual(["reaped"]);
    else expect([["reaped"], []]).toContainEqual(windowed);
    expect(j(["log", "--since", "1d"], env).events).toHaveLength(10);
  });

  it("check: exit 0 only for the live holder's token", () => {
    const env = dbEnv();
    const g = j(["claim", "deploy:prod", "--as", "a"], env).claim;
    const ok = cli(["check", "deploy:prod", "--token", String(g.token)], { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`token ${g.token} holds deploy:prod (a, expires ${g.expiresAt})\n`);
    expect(j(["check", "deploy:prod", "--token", String(g.token)], env)).toMatchObject({
      ok: true,
      claim: { agent: "a" },
    });
    expect(j(["check", "deploy:prod", "--token", String(g.token + 1)], env, 1)).toMatchObject({
      ok: false,
      code: "TOKEN_STALE",
    });
    expect(j(["check", "deploy:nope", "--token", "1"], env, 1)).toMatchObject({ ok: false, code: "NOT_FOUND" });
    j(["release", "deploy:prod", "--as", "a"], env);
    expect(j(["check", "deploy:prod", "--token", String(g.token)], env, 1)).toMatchObject({
      ok: false,
      code: "NOT_HOLDER",
    });
    const b = j(["claim", "deploy:prod", "--as", "b"], env).claim;
    expect(j(["check", "deploy:prod", "--token", String(g.token)], env, 1)).toMatchObject({ code: "TOKEN_STALE" });
    expect(cli(["check", "deploy:prod", "--token", String(b.token)], { env }).code).toBe(0);
    j(["complete", "deploy:prod", "--as", "b"], env);
    expect(j(["check", "deploy:prod", "--token", String(b.token)], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    // check needs no agent and changes nothing.
    expect(kinds(j(["log", "deploy:prod"], env).events)).toEqual(["granted", "released", "granted", "completed"]);
  });

  it("--json prints exactly one JSON object for every command, ok or not", () => {
    const env = dbEnv();
    const calls: [string[], number][] = [
      [["claim", "t:1", "--as", "a"], 0],
      [["claim", "t:1", "--as", "a"], 0],
      [["claim", "t:1", "--as", "b"], 1],
      [["renew", "t:1", "--as", "a"], 0],
      [["renew", "t:1", "--as", "b"], 1],
      [["check", "t:1", "--token", "1"], 0],
      [["check", "t:1", "--token", "2"], 1],
      [["show", "t:1"], 0],
      [["show", "t:2"], 1],
      [["list"], 0],
      [["list", "--state", "all", "--agent", "a", "--prefix", "t:"], 0],
      [["log"], 0],
      [["log", "t:1", "--agent", "b", "--since", "1h", "--limit", "5"], 0],
      [["complete", "t:1", "--as", "a", "--result", "r", "--commit", "abc1234"], 0],
      [["complete", "t:1", "--as", "a"], 1],
      [["claim", "t:1", "--as", "b"], 1],
      [["claim", "t:1", "--as", "b", "--reopen"], 0],
      [["release", "t:1", "--as", "b"], 0],
      [["release", "t:1", "--as", "b"], 1],
      [["claim", "t:3", "--as", "c"], 0],
      [["abandon", "t:3", "--as", "c", "--reason", "x"], 0],
      [["abandon", "t:3", "--as", "c"], 1],
      [["reap", "--min-age", "1h"], 0],
      [["run", "t:4", "--as", "a", "--", process.execPath, "-e", ""], 0],
      [["run", "t:5", "--as", "a", "--", process.execPath, "-e", "process.exit(4)"], 4],
      [["run", "t:4", "--as", "b", "--", process.execPath, "-e", ""], 1],
      [["work-claim", "s1", "t:6"], 0],
      [["work-claim", "s2", "t:6"], 1],
      [["work-list"], 0],
      [["work-complete", "s1", "t:6"], 0],
      [["work-complete", "s1", "t:6"], 1],
      [["work-claim", "s1", "t:7"], 0],
      [["work-abandon", "s1", "t:7"], 0],
      [["work-reap", "--min-age-hours", "24"], 0],
      [["claim", "t:8"], 2],
      [["frobnicate"], 2],
    ];
    for (const [args, code] of calls) {
      const value = j(args, env, code);
      expect(value.ok, args.join(" ")).toBe(code === 0);
      if (code === 2) expect(typeof value.error.code).toBe("string");
      if (code === 1) expect(typeof value.code, args.join(" ")).toBe("string");
    }
  });
});

/**
 * `baton context` (golden output across states, both formats, both stores), the
 * operating rules, notes and verification.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { TARGETS } from "./contract/targets.js";
import { cli, tempDir, untilAsync } from "./helpers.js";

/** Times and relative times vary between runs; everything else must not. */
function normalise(markdown: string): string {
  return markdown
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
    .replace(/(in|expires in) [\dhmsd ]+?(ms|s|m|h|d)\b/g, "$1 <dur>")
    .replace(/ \d[\dhmsd ]*?(ms|s|m|h|d) ago\b/g, " <dur> ago")
    .replace(/version [0-9a-f]{12}/g, "version <hash>")
    .replace(/\/\S*\/\.baton\/RULES\.md/g, "<rules>");
}

const EMPTY = `# Baton context for me — <time>

## Operating rules
- no rules file: run \`baton rules init\`

## My live claims (me)
- none

## Loose ends (abandoned or expired: finish or close them first)
- none

## Other agents' live claims
- none

## Recently completed (24 h): verify, don't redo
- none

## Gates fired (24 h)
- none

## Contention and supply
- fleet: 0 denials in 0 claim decisions (0% denied); me: 0 denials
- backlog: drained — ready 0, claimed 0, blocked 0, done 0 (no ready task: the backlog is empty)
`;

const BUSY = `# Baton context for me — <time>

## Operating rules
- Operating rules (version <hash>): <rules> — 3 empty slot(s); read them before acting (baton rules show)

## My live claims (me)
- task:4 — token 7, expires in <dur>

## Loose ends (abandoned or expired: finish or close them first)
- task:3 — expired <dur> ago, last held by other
- task:1 — abandoned <dur> ago, last held by me; last note: API answered 500; retry after the fix

## Other agents' live claims
- task:2 — other since <time>, expires in <dur>

## Recently completed (24 h): verify, don't redo
- blog:post-b — done by third <dur> ago: drafted — unverified
- blog:post-a — done by third <dur> ago: published (commit abc1234) — verified by me

## Gates fired (24 h)
- gate:notify:x — by me <dur> ago: sent the digest

## Contention and supply
- fleet: 2 denials in 8 claim decisions (25% denied); me: 2 denials — stop shopping for lanes: take a loose end or explore something new
- backlog: drained + contended — ready 0, claimed 0, blocked 0, done 0 (no ready task: the backlog is empty; me was denied 2 times in the last hour: two denials in a session means stop shopping for lanes)
`;

describe.each(TARGETS)("context on $name", (target) => {
  it("renders the empty registry, a busy fleet, and a budget overflow", async () => {
    const repo = tempDir();
    execFileSync("git", ["init", "-q"], { cwd: repo });
    const baton = await openBaton(target.batonOptions());
    try {
      const empty = await baton.context({ as: "me", cwd: repo });
      expect(normalise(empty.markdown)).toBe(EMPTY);
      cli(["rules", "init"], { cwd: repo });
      await baton.claim("task:1", { as: "me" });
      await baton.claim("task:2", { as: "other" });
      await baton.claim("blog:post-a", { as: "third" });
      await baton.complete("blog:post-a", { as: "third", result: "published", commit: "abc1234" });
      await baton.claim("blog:post-b", { as: "third" });
      await baton.complete("blog:post-b", { as: "third", result: "drafted" });
      await baton.claim("blog:post-a", { as: "me" }); // done: denied
      await baton.claim("task:2", { as: "me" }); // held: denied
      await baton.verify("blog:post-a", { as: "me", note: "links ok" });
      await baton.abandon("task:1", { as: "me", reason: "blocked on API" });
      await baton.note("task:1", { as: "me", text: "API answered 500; retry after the fix" });
      // Claimed after task:1 was abandoned, so it expires after: the loose ends' order is fixed.
      await baton.claim("task:3", { as: "other", ttl: 50 });
      await baton.gate("notify:x", () => undefined, { as: "me", note: "sent the digest" });
      await baton.claim("task:4", { as: "me" });
      // task:3's 50 ms pass as the store's clock tells (PostgreSQL decides on the server's).
      await untilAsync("task:3 to expire", async () => (await baton.show("task:3")).claim?.state === "expired");
      const busy = await baton.context({ as: "me", cwd: repo });
      expect(normalise(busy.markdown)).toBe(BUSY);
      const ids = busy.sections.map((s) => [s.id, s.total]);
      expect(ids).toEqual([
        ["rules", 1],
        ["mine", 1],
        ["loose_ends", 2],
        ["others", 1],
        ["completed", 2],
        ["gates", 1],
        ["contention", 2],
      ]);
      // After a reap the expired claim is an abandoned loose end, still listed with its holder.
      await baton.reap({ minAge: 0, as: "janitor" });
      const reaped = await baton.context({ as: "me", cwd: repo });
      expect(normalise(reaped.markdown)).toContain(
        "- task:3 — abandoned <dur> ago, last held by other; reaped: expired without completion",
      );
      const small = await baton.context({ as: "me", cwd: repo, budget: 700 });
      expect(small.markdown.length).toBeLessThanOrEqual(700);
      expect(small.markdown).toContain("_Left out (budget): ");
      expect(small.markdown).toContain("## My live claims (me)\n- task:4");
      expect(small.markdown).toContain("stop shopping for lanes");
      const shown = small.sections.reduce((n, s) => n + s.items.length, 0);
      const total = small.sections.reduce((n, s) => n + s.total, 0);
      expect(shown).toBeLessThan(total);
      await expect(baton.context({ budget: 10 })).rejects.toMatchObject({ code: "BAD_OPTION" });
    } finally {
      await baton.close();
    }
  });
});

describe.each(TARGETS)("context budget on $name", (target) => {
  it("a busy registry at --budget 600 keeps my claims, the supply verdicts and the stop-shopping signal; the least important sections go first", async () => {
    const baton = await openBaton(target.batonOptions());
    try {
      await baton.tasks.put(
        Array.from({ length: 5 }, (_, i) => ({ id: `d${i}`, title: `done ${i}`, done: true })),
        "add",
      );
      for (let i = 0; i < 12; i++) await baton.claim(`topic:others-${i}`, { as: `agent-${i}` });
      for (let i = 0; i < 8; i++) {
        await baton.claim(`blog:post-${i}`, { as: "writer" });
        await baton.complete(`blog:post-${i}`, {
          as: "writer",
          result: `published post ${i} with a long enough result line`,
        });
      }
      for (let i = 0; i < 6; i++) {
        await baton.claim(`task:lost-${i}`, { as: "crashed" });
        await baton.abandon(`task:lost-${i}`, { as: "crashed", reason: "session ended before finishing the work" });
      }
      await baton.claim("topic:others-1", { as: "me" }); // denied
      await baton.claim("topic:others-2", { as: "me" }); // denied: two denials, stop shopping
      await baton.claim("task:mine-a", { as: "me" });
      await baton.claim("task:mine-b", { as: "me" });

      const small = await baton.context({ as: "me", budget: 600 });
      const md = small.markdown;
      expect(md.length).toBeLessThanOrEqual(600);
      // Both of my claims are kept. Their order is the listing's (newest first), which ties when
      // both were granted in the same millisecond: the test does not depend on it.
      expect(md).toMatch(
        /## My live claims \(me\)\n- task:mine-[ab] — token \d+, expires in .*\n- task:mine-[ab] — token \d+/,
      );
      expect(md).toContain("- task:mine-a — token");
      expect(md).toContain("- task:mine-b — token");
      expect(md).toContain("me: 2 denials — stop shopping for lanes");
      expect(md).toContain(
        "- backlog: drained + contended — ready 0, claimed 0, blocked 0, done 5 (no ready task: all 5 done; me was denied 2 times in the last hour",
      );
      const byId = Object.fromEntries(small.sections.map((x) => [x.id, x]));
      expect(byId.mine).toMatchObject({ total: 2, omitted: false });
      expect(byId.mine?.items).toHaveLength(2);
      expect(byId.contention?.items).toHaveLength(byId.contention?.total ?? -1);
      // The least important go first: recent completions before others' claims before loose ends.
      expect(byId.completed?.omitted).toBe(true);
      expect(md).toMatch(/_Left out \(budget\): .*completions 8\._\n$/);

      // The default budget on the same registry cuts nothing of what matters either.
      const full = await baton.context({ as: "me" });
      expect(full.markdown).toContain("- backlog: drained + contended — ");
      expect(full.sections.find((x) => x.id === "contention")?.items).toHaveLength(2);
    } finally {
      await baton.close();
    }
  });
});

describe("context on the CLI", () => {
  it("prints markdown or the same content as JSON", () => {
    const dir = tempDir();
    const env = { BATON_DB: join(dir, "c.db"), BATON_AGENT: "me" };
    cli(["claim", "task:1"], { env, cwd: dir });
    const md = cli(["context"], { env, cwd: dir });
    expect(md.code).toBe(0);
    expect(md.stdout).toContain("## My live claims (me)\n- task:1 — token 1, expires in");
    const json = JSON.parse(cli(["context", "--format", "json"], { env, cwd: dir }).stdout);
    expect(json.sections.find((s: { id: string }) => s.id === "mine").items[0].data).toMatchObject({
      key: "task:1",
      agent: "me",
    });
    expect(cli(["context", "--format", "yaml", "--json"], { env, cwd: dir }).code).toBe(2);
  });
});

describe("operating rules", () => {
  it("init, show, check, and a version that changes when edited", () => {
    const repo = tempDir();
    execFileSync("git", ["init", "-q"], { cwd: repo });
    expect(JSON.parse(cli(["rules", "check", "--json"], { cwd: repo }).stdout)).toMatchObject({
      ok: false,
      code: "RULES_MISSING",
    });
    expect(cli(["rules", "init"], { cwd: repo }).code).toBe(0);
    expect(cli(["rules", "init"], { cwd: repo }).code).toBe(2);
    const file = join(repo, ".baton", "RULES.md");
    const text = readFileSync(file, "utf8");
    expect(text).toContain("Claim before you change anything shared");
    const check = JSON.parse(cli(["rules", "check", "--json"], { cwd: repo }).stdout);
    expect(check).toMatchObject({ ok: false, code: "RULES_INCOMPLETE" });
    expect(check.emptySlots).toHaveLength(3);
    const before = JSON.parse(cli(["rules", "show", "--json"], { cwd: repo }).stdout).version;
    const filled = text.replace(/_\(empty slot[^\n]*\)_/g, "Run the linter before every commit.");
    execFileSync("sh", ["-c", `cat > ${JSON.stringify(file)}`], { input: filled });
    expect(cli(["rules", "check"], { cwd: repo }).code).toBe(0);
    const after = JSON.parse(cli(["rules", "show", "--json"], { cwd: repo }).stdout).version;
    expect(after).not.toBe(before);
    appendFileSync(file, "\n11. One more.\n");
    expect(JSON.parse(cli(["rules", "show", "--json"], { cwd: repo }).stdout).version).not.toBe(after);
    expect(cli(["rules", "init", "--force"], { cwd: repo }).code).toBe(0);
  });
});

describe("note and verify", () => {
  it("attach notes, verify only completed work, and show both in the log", () => {
    const env = { BATON_DB: join(tempDir(), "n.db") };
    cli(["claim", "task:1", "--as", "a"], { env });
    expect(cli(["note", "task:1", "half done: parser works, printer next", "--as", "a"], { env }).code).toBe(0);
    expect(JSON.parse(cli(["verify", "task:1", "--as", "b", "--json"], { env }).stdout)).toMatchObject({
      ok: false,
      code: "NOT_COMPLETED",
    });
    expect(JSON.parse(cli(["verify", "task:9", "--as", "b", "--json"], { env }).stdout)).toMatchObject({
      ok: false,
      code: "NOT_FOUND",
    });
    cli(["complete", "task:1", "--as", "a", "--result", "done"], { env });
    expect(cli(["verify", "task:1", "--as", "b", "--note", "ran it"], { env }).code).toBe(0);
    expect(cli(["note", "task:1", "", "--as", "a", "--json"], { env }).code).toBe(2);
    const show = cli(["show", "task:1"], { env }).stdout;
    expect(show).toMatch(/noted\s+task:1\s+a\s+"half done: parser works, printer next"/);
    expect(show).toMatch(/verified\s+task:1\s+b\s+\(done by a: "ran it"\)/);
  });
});

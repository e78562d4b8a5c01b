/**
 * Near-duplicate keys: the measure (table-driven on the seeds' own examples, and
 * properties), and the claim behaviour (warn, strict, racing claims) on both stores.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_SIMILARITY_THRESHOLD, isNumberedKey, keySimilarity, keyTokens } from "../src/core/similarity.js";
import { openBaton } from "../src/index.js";
import { TARGETS } from "./contract/targets.js";
import { cliAsync } from "./helpers.js";

const T = DEFAULT_SIMILARITY_THRESHOLD;

describe("the similarity measure", () => {
  it.each([
    ["blog:convergent-work-coordination", "blog:convergent-work-multi-agent", true],
    ["blog:convergent-work-coordination", "blog:Convergent_Work_Coordination", true],
    ["topic:blog/convergent-work", "topic:blog/convergent-works", true],
    ["blog:how-to-coordinate-agent-fleets", "blog:coordinating-agent-fleet", true],
    ["github:acme/api#42", "github:Acme/API#42", true],
    ["github:acme/api#42", "github:acme/api#43", false],
    ["github:acme/api#42", "github:acme/web#42", false],
    ["github:gptme/gptme#2880", "topic:gptme-2880", false],
    ["notify:tekla/sven-auth", "notify:tekla/sven-auth-fix", true],
    ["notify:tekla/sven-auth", "notify:sven/tekla-auth", true],
    ["blog:convergent-work", "blog:divergent-work", false],
    ["task:42", "task:42", true],
    ["task:42", "task:420", false],
    ["blog:rust", "blog:go", false],
    ["blog:stories-about-agents", "blog:story-about-agent", true],
  ])("%s ~ %s → %s", (a, b, similar) => {
    expect(keySimilarity(a, b) >= T).toBe(similar);
    expect(keySimilarity(b, a)).toBe(keySimilarity(a, b));
  });

  it("tokenises: case, separators, stop words, plurals", () => {
    expect(keyTokens("blog:How-to_Write the STORIES of agents")).toEqual(["write", "story", "agent"]);
  });

  it("is reflexive, symmetric, bounded, and never matches across namespaces", () => {
    const word = fc.stringMatching(/^[a-z]{2,8}$/);
    const key = fc.tuple(
      fc.constantFrom("blog", "topic", "github", "task"),
      fc.array(fc.oneof(word, fc.nat(999).map(String)), { minLength: 1, maxLength: 5 }),
      fc.constantFrom("-", "_", "/", " "),
    );
    fc.assert(
      fc.property(key, key, ([na, wa, sa], [nb, wb, sb]) => {
        const a = `${na}:${wa.join(sa)}`;
        const b = `${nb}:${wb.join(sb)}`;
        expect(keySimilarity(a, a)).toBe(1);
        const s = keySimilarity(a, b);
        expect(s).toBe(keySimilarity(b, a));
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
        if (na !== nb) expect(s).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });

  it("tells a numbered key as its tokens do, without tokenising when an ASCII digit shows it", () => {
    // isNumberedKey answers early from the text; it must agree with the tokens everywhere,
    // full-width digits, superscripts and circled numbers (digits only after NFKC) included.
    for (const k of ["task:42", "gh:a/b#7", "blog:x", "1:abc", "topic:①", "topic:２nd", "topic:x²", "a4", ":9"]) {
      expect(isNumberedKey(k), k).toBe(keyTokens(k).some((t) => /\d/.test(t)));
    }
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 12 }), fc.string({ maxLength: 12 }), (ns, rest) => {
        const k = `${ns}:${rest}`;
        expect(isNumberedKey(k)).toBe(keyTokens(k).some((t) => /\d/.test(t)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe.each(TARGETS)("near-duplicate claims on $name", (target) => {
  it("warns by default, refuses with --similar strict, and leaves one of two racing similar claims", async () => {
    const baton = await openBaton(target.batonOptions());
    try {
      await baton.claim("blog:convergent-work-coordination", { as: "a" });
      const warned = await baton.claim("blog:convergent-work-multi-agent", { as: "b" });
      expect(warned).toMatchObject({ ok: true, outcome: "granted" });
      expect(warned.ok && warned.similar.map((s) => [s.key, s.agent])).toEqual([
        ["blog:convergent-work-coordination", "a"],
      ]);
      expect(warned.message).toContain("warning: similar live claims");
      const strict = await baton.claim("blog:convergent-work-for-agents", { as: "c", similar: "strict" });
      expect(strict).toMatchObject({ ok: false, outcome: "similar", code: "CLAIM_SIMILAR", holder: "a" });
      expect((await baton.show("blog:convergent-work-for-agents")).claim?.state).toBe("released");
      // Unrelated keys and other namespaces are left alone.
      const other = await baton.claim("blog:rust-borrow-checker", { as: "c", similar: "strict" });
      expect(other.ok && other.similar).toEqual([]);
      const issue = await baton.claim("github:acme/api#43", { as: "c", similar: "strict" });
      expect(issue.ok).toBe(true);
      await expect(baton.claim("blog:x-y", { as: "a", similarityThreshold: 2 })).rejects.toMatchObject({
        code: "BAD_OPTION",
      });
    } finally {
      await baton.close();
    }
  });
});

describe.each(TARGETS)("racing similar strict claims on $name", (target) => {
  it("8 processes claim 8 mutually similar keys at once: exactly one stays", async () => {
    const options = target.batonOptions();
    const env: Record<string, string> =
      "db" in options
        ? { BATON_DB: options.db }
        : { BATON_DATABASE_URL: options.databaseUrl, BATON_PG_SCHEMA: options.schema };
    await (await openBaton(options)).close();
    const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"];
    const results = await Promise.all(
      words.map((w, i) =>
        cliAsync(["claim", `topic:fleet-dashboard-design-${w}`, "--as", `agent-${i}`, "--strict-similar", "--json"], {
          env,
        }),
      ),
    );
    for (const r of results) expect([0, 1], r.stderr).toContain(r.code);
    const baton = await openBaton(options);
    try {
      const live = await baton.list({ prefix: "topic:" });
      expect(live).toHaveLength(1);
      expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    } finally {
      await baton.close();
    }
  });
});

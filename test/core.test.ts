/**
 * Unit and property tests for the pure core: keys, agents, tokens, durations,
 * metadata and the error registry; and the row helpers both stores build a reap's answer with.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blockerProblem } from "../src/core/blockers.js";
import { formatDuration, MAX_DURATION_MS, parseDuration } from "../src/core/duration.js";
import { BatonError, ERROR_CODES, isBatonError } from "../src/core/errors.js";
import {
  keyNamespace,
  MAX_AGENT_LENGTH,
  MAX_KEY_LENGTH,
  parseAgent,
  parseKey,
  parseToken,
} from "../src/core/identity.js";
import { modesConflict, planPathClaim } from "../src/core/path-plan.js";
import { patternsOverlap } from "../src/core/paths.js";
import { durationMs, MAX_META_BYTES, parseCommit, parseLimit, parseMeta, parseText } from "../src/core/schemas.js";
import { inReapOrder, type ReapedColumns, sortReaped, toReapedClaims } from "../src/store/rows.js";
import { jsonValue } from "../src/api/catalogue.js";
import { isoString } from "../src/core/time.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isBatonError(error) ? error.code : `not a BatonError: ${String(error)}`;
  }
  return undefined;
}

const AGENT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@/-";
const agentArb = fc
  .array(fc.constantFrom(...AGENT_CHARS), { minLength: 1, maxLength: MAX_AGENT_LENGTH })
  .map((chars) => chars.join(""));
const control = fc
  .oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
  .map((c) => String.fromCharCode(c));

describe("keys", () => {
  it("accepts conventional keys and trims them", () => {
    expect(parseKey("  github:acme/api#42 ")).toBe("github:acme/api#42");
    expect(parseKey("task:42")).toBe("task:42");
    expect(parseKey("no namespace at all")).toBe("no namespace at all");
    expect(keyNamespace("github:acme/api#42")).toBe("github");
    expect(keyNamespace("plain")).toBe("");
    expect(keyNamespace(":odd")).toBe("");
  });

  it("refuses empty, too long, control characters and non-strings with BAD_KEY", () => {
    for (const bad of [
      "",
      "   ",
      "a".repeat(MAX_KEY_LENGTH + 1),
      "task\n1",
      "tab\there",
      "del\u007f",
      "c1\u0085",
      42,
      null,
      undefined,
      {},
    ]) {
      expect(
        codeOf(() => parseKey(bad)),
        JSON.stringify(bad),
      ).toBe("BAD_KEY");
    }
    expect(parseKey("a".repeat(MAX_KEY_LENGTH))).toHaveLength(MAX_KEY_LENGTH);
  });

  it("is idempotent and NFC-normalises, so composed and decomposed forms are one key", () => {
    expect(parseKey("cafe\u0301")).toBe(parseKey("caf\u00e9"));
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 600 }), (input) => {
        let key: string;
        try {
          key = parseKey(input);
        } catch (error) {
          expect(isBatonError(error) && error.code).toBe("BAD_KEY");
          return;
        }
        expect(parseKey(key)).toBe(key);
        expect(key).toBe(key.normalize("NFC").trim());
        expect(key.length).toBeGreaterThan(0);
        expect(key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
        expect(parseKey(input.normalize("NFD"))).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses any key with a control character anywhere", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), control, fc.string({ maxLength: 50 }), (a, c, b) => {
        const input = `k${a}${c}${b}k`;
        expect(codeOf(() => parseKey(input))).toBe("BAD_KEY");
      }),
    );
  });
});

describe("agents", () => {
  it("accepts every name made of letters, digits and ._:@/- up to 128, unchanged", () => {
    fc.assert(
      fc.property(agentArb, (name) => {
        expect(parseAgent(name)).toBe(name);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses any other character, empty, too long, non-strings", () => {
    fc.assert(
      fc.property(
        agentArb,
        fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !AGENT_CHARS.includes(c)),
        (name, bad) => {
          expect(codeOf(() => parseAgent(`${name}${bad}`))).toBe("BAD_AGENT");
        },
      ),
    );
    for (const bad of ["", "a".repeat(MAX_AGENT_LENGTH + 1), "has space", "tab\t", 7, null]) {
      expect(
        codeOf(() => parseAgent(bad)),
        JSON.stringify(bad),
      ).toBe("BAD_AGENT");
    }
  });
});

describe("fencing tokens", () => {
  it("parses positive integers from numbers and strings, refuses the rest", () => {
    expect(parseToken(7)).toBe(7);
    expect(parseToken(" 42 ")).toBe(42);
    for (const bad of [0, -1, 1.5, "1e3", "abc", "", "9".repeat(16), null]) {
      expect(
        codeOf(() => parseToken(bad)),
        JSON.stringify(bad),
      ).toBe("BAD_TOKEN");
    }
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999_999_999_999 }), (n) => {
        expect(parseToken(String(n))).toBe(n);
      }),
    );
  });
});

describe("durations", () => {
  it("reads every unit, and a bare number as minutes", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("1d")).toBe(86_400_000);
    expect(parseDuration("60")).toBe(3_600_000);
    expect(parseDuration(" 1.5H ")).toBe(5_400_000);
    expect(parseDuration(5)).toBe(300_000);
  });

  it("refuses garbage, negatives, zero (unless allowed) and more than ten years", () => {
    for (const bad of ["", "5x", "-5m", "1 h", "m", "1e3s", "0", "0s", "4000d", "NaN"]) {
      expect(
        codeOf(() => parseDuration(bad)),
        bad,
      ).toBe("BAD_DURATION");
    }
    expect(parseDuration("0", { allowZero: true })).toBe(0);
    expect(codeOf(() => durationMs(-1, "ttl"))).toBe("BAD_DURATION");
    expect(durationMs(1500, "ttl")).toBe(1500);
    expect(durationMs("2s", "ttl")).toBe(2000);
  });

  it("round-trips whole units through formatDuration and parseDuration", () => {
    const units = fc.oneof(
      fc.integer({ min: 1, max: 59 }).map((n) => `${n}s`),
      fc.integer({ min: 1, max: 59 }).map((n) => `${n}m`),
      fc.integer({ min: 1, max: 23 }).map((n) => `${n}h`),
      fc.integer({ min: 1, max: 3650 }).map((n) => `${n}d`),
    );
    fc.assert(
      fc.property(units, (text) => {
        expect(formatDuration(parseDuration(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
    // A longer duration is shown in its two largest units, never more than it is.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_MS }), (ms) => {
        const shown = formatDuration(ms)
          .split(" ")
          .reduce((sum, part) => sum + parseDuration(part, { allowZero: true }), 0);
        expect(shown).toBeLessThanOrEqual(ms);
      }),
    );
    expect(formatDuration(3_900_000)).toBe("1h 5m");
    expect(formatDuration(-45_000)).toBe("-45s");
  });

  it("never throws anything but BAD_DURATION, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (text) => {
        const code = codeOf(() => parseDuration(text));
        expect(code === undefined || code === "BAD_DURATION").toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("metadata, text, commits, limits", () => {
  it("accepts JSON objects only, within the size limit", () => {
    expect(parseMeta('{"issue":1,"b":[1,2]}')).toEqual({ issue: 1, b: [1, 2] });
    expect(parseMeta({ a: 1, skip: undefined })).toEqual({ a: 1 });
    expect(parseMeta(undefined)).toBeNull();
    for (const bad of ["{nope", "[1]", "3", '"s"', "null", { big: "x".repeat(MAX_META_BYTES) }]) {
      expect(
        codeOf(() => parseMeta(bad)),
        String(bad).slice(0, 20),
      ).toBe("BAD_META");
    }
  });

  it("validates free text, commits and limits", () => {
    expect(parseText("done", "--result")).toBe("done");
    expect(codeOf(() => parseText("x".repeat(5000), "--result"))).toBe("BAD_INPUT");
    expect(parseCommit("ABCDEF1")).toBe("abcdef1");
    expect(codeOf(() => parseCommit("xyz"))).toBe("BAD_INPUT");
    expect(parseLimit(undefined, 100)).toBe(100);
    expect(parseLimit("5", 100)).toBe(5);
    for (const bad of ["0", "-1", "1.5", "abc", 100_001]) expect(codeOf(() => parseLimit(bad, 1))).toBe("BAD_OPTION");
  });
});

describe("the error registry", () => {
  it("gives every code an exit code 1-4 and an HTTP status", () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect([1, 2, 3, 4], code).toContain(spec.exit);
      expect(spec.http, code).toBeGreaterThanOrEqual(400);
      expect(spec.summary.length, code).toBeGreaterThan(10);
    }
  });

  it("makes typed errors that serialise with their code", () => {
    const error = new BatonError("BAD_KEY", "invalid key", { value: "" });
    expect(isBatonError(error)).toBe(true);
    expect(isBatonError(new Error("x"))).toBe(false);
    expect(error.toJSON()).toMatchObject({ code: "BAD_KEY", message: "invalid key" });
  });
});

describe("the path-claim planner", () => {
  it("finds exactly the overlapping claims of other agents that the modes make conflicts", () => {
    const folders = ["src", "lib", "docs"];
    const patternArb = fc.oneof(
      fc.constantFrom(...folders).map((f) => `${f}/`),
      fc
        .tuple(fc.constantFrom(...folders), fc.constantFrom("a.ts", "b.ts", "*.ts", "**", "x/**", "x/a.ts"))
        .map(([f, p]) => `${f}/${p}`),
      fc.constantFrom("**/*.md", "*.ts", "README.md"),
    );
    const liveArb = fc.array(
      fc.record({
        pattern: patternArb,
        agent: fc.constantFrom("a", "b", "c"),
        mode: fc.constantFrom("exclusive" as const, "shared" as const),
      }),
      { maxLength: 20 },
    );
    fc.assert(
      fc.property(
        liveArb,
        fc.uniqueArray(patternArb, { minLength: 1, maxLength: 5 }),
        fc.constantFrom("exclusive" as const, "shared" as const),
        (live, patterns, mode) => {
          const plan = planPathClaim(live, { agent: "a", mode, patterns });
          const expected = patterns.flatMap((pattern) =>
            live
              .filter((h) => h.agent !== "a" && modesConflict(mode, h.mode) && patternsOverlap(pattern, h.pattern))
              .map((held) => `${pattern}|${held.pattern}|${held.agent}|${held.mode}`),
          );
          const got = plan.conflicts.map((c) => `${c.pattern}|${c.held.pattern}|${c.held.agent}|${c.held.mode}`);
          expect(got.sort()).toEqual(expected.sort());
          expect([...plan.insert, ...plan.renew.map((r) => r.pattern)].sort()).toEqual([...patterns].sort());
          for (const own of plan.renew) expect(own.agent).toBe("a");
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("blocker validation", () => {
  const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
  it("knows a diamond is no cycle, names the unknown blocker, and finds the cycle an added edge closes", () => {
    const diamond = graph({ a: ["b", "c"], b: ["d"], c: ["d"], d: [] });
    expect(
      blockerProblem(
        [
          { id: "a", blocker: "b" },
          { id: "a", blocker: "c" },
        ],
        diamond,
      ),
    ).toBeNull();
    expect(blockerProblem([{ id: "a", blocker: "x" }], diamond)).toEqual({
      code: "BLOCKER_UNKNOWN",
      id: "a",
      blocker: "x",
    });
    const closed = graph({ a: ["b", "c"], b: ["d"], c: ["d"], d: ["a"] });
    expect(blockerProblem([{ id: "d", blocker: "a" }], closed)).toEqual({
      code: "BLOCKER_CYCLE",
      id: "d",
      cycle: ["d", "a", "b", "d"],
    });
  });

  it("walks a 20,000-task chain once", () => {
    const edges: Record<string, string[]> = {};
    for (let i = 0; i < 20_000; i++) edges[`t${i}`] = [`t${i + 1}`];
    edges.t20000 = ["t0"];
    const found = blockerProblem([{ id: "t20000", blocker: "t0" }], graph(edges));
    expect(found).toMatchObject({ code: "BLOCKER_CYCLE", id: "t20000" });
    expect(found?.code === "BLOCKER_CYCLE" && found.cycle.length).toBe(20_002);
  });
});

describe("reaped claims as columns (store rows)", () => {
  const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  it("puts columns in reap order (expiry, then key in byte order) and says when they are", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: "binary" }), fc.integer({ min: 0, max: 5 })), { maxLength: 30 }),
        (items) => {
          const cols: ReapedColumns = [
            items.map(([k]) => k),
            items.map(([k]) => `agent-of-${k}`),
            items.map((_, i) => i + 1),
            items.map((_, i) => i),
            items.map(([, e]) => e),
            items.map(() => null),
            items.map(() => null),
            items.map(() => null),
          ];
          const sorted = sortReaped(cols, bytes);
          expect(inReapOrder(sorted, bytes)).toBe(true);
          const expected = [...items.keys()].sort(
            (a, b) => (items[a]?.[1] ?? 0) - (items[b]?.[1] ?? 0) || bytes(items[a]?.[0] ?? "", items[b]?.[0] ?? ""),
          );
          expect(sorted[0]).toEqual(expected.map((i) => items[i]?.[0]));
          expect(sorted[1]).toEqual(expected.map((i) => `agent-of-${items[i]?.[0]}`));
          expect(toReapedClaims(sorted, 7).map((c) => [c.key, c.token, c.state, c.endedAt?.getTime()])).toEqual(
            expected.map((i) => [items[i]?.[0], i + 1, "abandoned", 7]),
          );
        },
      ),
    );
  });
});

describe("jsonValue (an answer's data as JSON without the text round trip)", () => {
  it("gives what JSON.parse(JSON.stringify(x)) gives", () => {
    const leaf = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.double(),
      fc.integer(),
      fc.date({ noInvalidDate: false }),
      fc.constant(() => 1),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("node")), fc.dictionary(fc.string(), tie("node"))),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), tree), (value) => {
        expect(jsonValue(value)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
    // A stored object's "__proto__" key stays a key, as the round trip keeps it.
    const hostile = JSON.parse('{"meta":{"__proto__":{"x":1},"at":"t"}}') as unknown;
    expect(JSON.stringify(jsonValue(hostile))).toBe(JSON.stringify(JSON.parse(JSON.stringify(hostile))));
    expect(JSON.stringify(jsonValue({ at: new Date(0), gone: undefined, list: [undefined, 1] }))).toBe(
      '{"at":"1970-01-01T00:00:00.000Z","list":[null,1]}',
    );
  });
});

describe("isoString (Date#toISOString without V8's printf)", () => {
  const same = (ms: number): void => {
    const date = new Date(ms);
    let native: string;
    try {
      native = date.toISOString();
    } catch (error) {
      expect(() => isoString(date)).toThrow((error as Error).constructor as new () => Error);
      return;
    }
    expect(isoString(date)).toBe(native);
  };

  it("writes every instant as toISOString does, and throws where it throws", () => {
    // The whole range of dates (years -271821 to 275760), the fast path's 1970–9999 most of all.
    fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), same), { numRuns: 2000 });
    fc.assert(fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), same), { numRuns: 5000 });
    for (const ms of [0, 1, 999, 86_399_999, 86_400_000, 951_782_400_000, 951_868_800_000, 253_402_300_799_999]) {
      same(ms);
    }
    for (const ms of [-1, 253_402_300_800_000, Number.NaN, 8.64e15 + 1]) same(ms);
    // Every year's ends and leap days, consecutive days through the cache of the last day written.
    for (let year = 1970; year < 10_000; year += 1) {
      same(Date.UTC(year, 0, 1));
      same(Date.UTC(year, 1, 28, 23, 59, 59, 999));
      same(Date.UTC(year, 1, 29, 0, 0, 0, 7));
      same(Date.UTC(year, 11, 31, 23, 59, 59, 99));
    }
  });
});

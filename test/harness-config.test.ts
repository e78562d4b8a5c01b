/**
 * The config fast path: `plainlyValid` lets a config file skip loading zod, so it must
 * never vouch for a file the schema would refuse (property test), and it must vouch for
 * the files `baton init` writes (or hooks would pay for zod on every edit).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { configFileSchema, plainlyValid } from "../src/surfaces/cli/config.js";
import { STARTER_CONFIG } from "../src/surfaces/cli/init.js";

const KEYS = [
  "agent",
  "db",
  "databaseUrl",
  "pgSchema",
  "markerDir",
  "similar",
  "rulesFile",
  "statementTimeout",
  "importLabels",
  "busyTimeout",
  "sqliteSync",
  "defaultTtl",
  "claimOnEdit",
  "protectedPaths",
  "writeScopes",
  "hookFailure",
  "hookBudget",
  "editTtl",
  "agnet",
  "__proto__",
  "hooks",
];
const scalar = fc.oneof(
  fc.constantFrom("warn", "strict", "off", "full", "normal", "all", "protected", "open", "closed", "30m", ""),
  fc.string(),
  fc.integer({ min: -10, max: 2_000_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })), { maxKeys: 3 }),
);

describe("config fast path", () => {
  it("never vouches for a config the schema refuses", async () => {
    const schema = await configFileSchema();
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 5 }), (raw) => {
        // Through JSON, as a config file is read.
        const parsed: unknown = JSON.parse(JSON.stringify(raw));
        if (plainlyValid(parsed)) expect(schema.safeParse(parsed).success).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("vouches for what baton init writes and for plain settings", () => {
    expect(plainlyValid(JSON.parse(JSON.stringify(STARTER_CONFIG)))).toBe(true);
    expect(
      plainlyValid({
        agent: "ci",
        busyTimeout: "10s",
        hookBudget: 6000,
        writeScopes: { "worker-*": ["scratch/<agent>/**"] },
        editTtl: 900000,
      }),
    ).toBe(true);
    expect(plainlyValid({ importLabels: { bug: { priority: 90 } } })).toBe(false); // left to the schema
    expect(plainlyValid({ hookBudget: 199 })).toBe(false);
    expect(plainlyValid([])).toBe(false);
  });
});

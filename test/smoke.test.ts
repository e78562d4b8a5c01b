import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "./helpers.js";

describe("the built CLI", () => {
  it("claims, denies another agent, and completes", () => {
    const db = join(tempDir(), "baton.db");
    const env = { BATON_DB: db };
    expect(cli(["claim", "task:1", "--as", "a"], { env }).code).toBe(0);
    const denied = cli(["claim", "task:1", "--as", "b", "--json"], { env });
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({ ok: false, outcome: "denied", code: "CLAIM_HELD", holder: "a" });
    expect(cli(["complete", "task:1", "--as", "a"], { env }).code).toBe(0);
  });
});

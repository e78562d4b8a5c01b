import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "./helpers.js";

describe("the built CLI", () => {
  // The executable as an agent runs it (dist/cli/baton.js, a process): most other tests run the
  // bundle in a worker thread (docs/TESTING.md).
  it("claims, denies another agent, and completes", () => {
    const db = join(tempDir(), "baton.db");
    const options = { env: { BATON_DB: db }, process: true };
    expect(cli(["claim", "task:1", "--as", "a"], options).code).toBe(0);
    const denied = cli(["claim", "task:1", "--as", "b", "--json"], options);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({ ok: false, outcome: "denied", code: "CLAIM_HELD", holder: "a" });
    expect(cli(["complete", "task:1", "--as", "a"], options).code).toBe(0);
  });
});

/**
 * The CLI writes its answer with write(2) on the descriptor, not through the stream Node
 * would build (src/surfaces/cli/bin.ts): the answer reaches a pipe and a file whole, and a
 * reader that goes away early is still a quiet exit, not a stack trace.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dbEnv, one } from "./cli-helpers.js";
import { CLI, cleanEnv, tempDir } from "./helpers.js";

describe("the CLI's stdout and stderr", () => {
  it("an answer reaches a file whole, stdout and stderr apart", () => {
    const env = cleanEnv(dbEnv({ BATON_AGENT: "alice" }));
    const dir = tempDir();
    const out = openSync(join(dir, "out"), "w");
    const err = openSync(join(dir, "err"), "w");
    try {
      const ok = spawnSync(process.execPath, [CLI, "claim", "k:1", "--json"], { env, stdio: ["ignore", out, err] });
      expect(ok.status).toBe(0);
      const bad = spawnSync(process.execPath, [CLI, "claim", ""], { env, stdio: ["ignore", out, err] });
      expect(bad.status).toBe(2);
    } finally {
      closeSync(out);
      closeSync(err);
    }
    const answer = one({ code: 0, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: "" });
    expect(answer).toMatchObject({ ok: true, outcome: "granted", claim: { key: "k:1", agent: "alice" } });
    expect(readFileSync(join(dir, "err"), "utf8")).toMatch(/^Error: invalid key: empty/);
  });

  it("a reader that closes the pipe before the answer is written: exit 0, nothing on stderr", async () => {
    // The full help is several kB; the reader closes its end before reading any of it.
    const child = spawn(process.execPath, [CLI, "--help"], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});

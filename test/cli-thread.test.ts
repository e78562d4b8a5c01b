/**
 * The CLI in a worker thread (test/cli-thread/run.ts, what cli() uses) answers as the executable
 * does as a process: each call runs both ways, each in a fresh checkout with a fresh registry,
 * and must exit with the same code, print the same stdout and stderr (times, temporary folders
 * and repository ids masked) and leave the same files in its working folder. Nothing lands in
 * the test's own folder (relative paths resolve against the call's cwd).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { coordination } from "./cli-helpers.js";
import { cliInThread } from "./cli-thread/run.js";
import { CLI, cleanEnv, gitCheckout, tempDir } from "./helpers.js";

const SCRIPT = '#!/bin/sh\necho "out $1"\necho "err $1" >&2\ncat\necho "done $1"\n';

/** A checkout with a tasks file and a script that prints on both streams and echoes its stdin. */
function checkout(): string {
  const dir = gitCheckout({ dirs: ["src"] });
  writeFileSync(join(dir, "tasks.md"), "- [ ] one task\n- [ ] another\n");
  writeFileSync(join(dir, "say.sh"), SCRIPT, { mode: 0o755 });
  return dir;
}

function masked(text: string, dir: string): string {
  return text
    .split(dir)
    .join("<cwd>")
    .replace(/\/tmp\/baton-[\w-]+/g, "<tmp>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
    .replace(/root:[0-9a-f]+/g, "root:<id>")
    .replace(/\b\d+(\.\d+)?(ms|s)\b/g, "<dur>");
}

/** Each call: what it shows, its arguments, and whether it runs as `coordination` (the link npm installs). */
const CASES: readonly { what: string; args: readonly string[]; coordination?: boolean }[] = [
  { what: "a claim", args: ["claim", "k:1", "--json"] },
  {
    what: "a registry named by a relative path is made in the call's folder",
    args: ["claim", "k:1", "--db", "rel.db", "--json"],
  },
  { what: "bad input: exit 2, stderr only", args: ["claim", ""] },
  { what: "an unknown command under the coordination name", args: ["nonsense"], coordination: true },
  { what: "help under the coordination name", args: ["--help"], coordination: true },
  { what: "run: the command's lines and the CLI's in the order written", args: ["run", "r:1", "--", "./say.sh", "x"] },
  { what: "run: the command's exit code", args: ["run", "r:2", "--", "sh", "-c", "echo hi; exit 3"] },
  { what: "gate run: the command's output passed through", args: ["gate", "run", "g:1", "--", "./say.sh", "y"] },
  { what: "task import of a relative file", args: ["task", "import", "tasks.md", "--json"] },
  { what: "task import from an empty stdin", args: ["task", "import", "-", "--json"] },
  { what: "a harness hook with an empty stdin", args: ["hook", "claude", "pre-tool-use"] },
  { what: "path claims: git run in the call's folder", args: ["paths", "claim", "src/**", "--json"] },
  { what: "init: files written in the call's folder, hooks naming the executable", args: ["init", "--json"] },
];

describe("the CLI in a worker thread answers as the process does", () => {
  it.each(CASES)("$what", ({ args, coordination: named }) => {
    const bin = named === true ? coordination() : CLI;
    const run = (how: "thread" | "process") => {
      const cwd = checkout();
      const env = cleanEnv({ BATON_DB: join(tempDir(), "cli.db"), BATON_AGENT: "alice" });
      const r =
        how === "thread"
          ? cliInThread(args, { env, cwd, bin })
          : (() => {
              const p = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: "utf8" });
              return { code: p.status ?? -1, stdout: p.stdout, stderr: p.stderr };
            })();
      return {
        code: r.code,
        stdout: masked(r.stdout, cwd),
        stderr: masked(r.stderr, cwd),
        files: readdirSync(cwd).sort(),
      };
    };
    const thread = run("thread");
    expect(thread).toEqual(run("process"));
    expect(existsSync(join(process.cwd(), "rel.db"))).toBe(false);
  });

  it("a call's output in order when a command it runs writes to the same streams", () => {
    const cwd = checkout();
    const env = cleanEnv({ BATON_DB: join(tempDir(), "cli.db"), BATON_AGENT: "alice" });
    const r = cliInThread(["run", "r:1", "--", "./say.sh", "z"], { env, cwd, bin: CLI, input: "typed\n" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("out z\ntyped\ndone z\n");
    expect(r.stderr).toMatch(/^baton: claimed r:1 .*\nerr z\nbaton: completed r:1/);
  });

  it("a call to a server in this test's own thread fails after the timeout, saying to await a process instead", async () => {
    // Any answer would do: the thread waiting for the call cannot give one.
    const server = createServer((_request, response) => {
      response.writeHead(401, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const args = ["show", "k:1", "--url", url, "--token", "t", "--json"];
      let outcome: unknown;
      try {
        outcome = cliInThread(args, { env: cleanEnv(), cwd: tempDir(), bin: CLI, timeoutMs: 1_500 });
      } catch (error) {
        outcome = (error as Error).message;
      }
      expect(outcome).toMatch(/no exit within 1500 ms in a worker thread.*await a process instead, cliAsync\(args\)/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

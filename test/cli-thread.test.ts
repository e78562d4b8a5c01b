/**
 * The CLI in a worker thread (test/cli-thread/run.ts, what cli() uses) answers as the executable
 * does as a process: each call runs both ways, each in a fresh checkout with a fresh registry,
 * and must exit with the same code, print the same stdout and stderr (times, temporary folders
 * and repository ids masked) and leave the same files in its working folder. Nothing lands in
 * the test's own folder (relative paths resolve against the call's cwd). One worker runs call
 * after call: a sequence of calls with different environments, folders, arguments, input and
 * exit codes answers in it as the same sequence of processes does, and a call that ends with
 * process.exit() or does not end leaves the next call a fresh worker.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { coordination } from "./cli-helpers.js";
import { cliInThread, threadWorkers } from "./cli-thread/run.js";
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

type How = "thread" | "process";

/** One call either way, its output masked: in a thread (cli()'s way) or as `node BIN ARGS`. */
function call(
  how: How,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; bin?: string; input?: string },
): { code: number; stdout: string; stderr: string } {
  const bin = options.bin ?? CLI;
  const r =
    how === "thread"
      ? cliInThread(args, { env: options.env, cwd: options.cwd, bin, input: options.input })
      : (() => {
          const p = spawnSync(process.execPath, [bin, ...args], {
            cwd: options.cwd,
            env: options.env,
            input: options.input ?? "",
            encoding: "utf8",
          });
          return { code: p.status ?? -1, stdout: p.stdout, stderr: p.stderr };
        })();
  return { code: r.code, stdout: masked(r.stdout, options.cwd), stderr: masked(r.stderr, options.cwd) };
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

  it("calls one after another in one worker answer as processes do: nothing of a call's environment, folder, arguments, input or exit code reaches the next", () => {
    const sequence = (how: How) => {
      const [a, b, c] = [checkout(), checkout(), checkout()];
      const dbA = join(tempDir(), "a.db");
      const dbB = join(tempDir(), "b.db");
      const env = (extra: Record<string, string>) => cleanEnv(extra);
      const results = [
        // Two registries, two agents: the second claim of k:1 is granted in its own registry.
        call(how, ["claim", "k:1", "--json"], { env: env({ BATON_DB: dbA, BATON_AGENT: "alice" }), cwd: a }),
        call(how, ["claim", "k:1", "--json"], { env: env({ BATON_DB: dbB, BATON_AGENT: "bob" }), cwd: b }),
        call(how, ["claim", "k:1", "--json"], { env: env({ BATON_DB: dbA, BATON_AGENT: "bob" }), cwd: a }),
        // Bad input (exit 2), then calls that exit 0 and 1 with no agent set.
        call(how, ["claim", ""], { env: env({ BATON_DB: dbA, BATON_AGENT: "alice" }), cwd: a }),
        call(how, ["show", "k:1", "--json"], { env: env({ BATON_DB: dbA }), cwd: b }),
        call(how, ["show", "k:9", "--json"], { env: env({ BATON_DB: dbB }), cwd: c }),
        // No agent and no registry set after calls that set both: refused, and the default registry.
        call(how, ["claim", "k:3", "--json"], { env: env({ BATON_DB: dbB }), cwd: b }),
        call(how, ["show", "k:1", "--json"], { env: env({}), cwd: c }),
        // Input given, then none.
        call(how, ["task", "import", "-", "--json"], {
          env: env({ BATON_DB: dbB, BATON_AGENT: "bob" }),
          cwd: b,
          input: "- [ ] typed task\n",
        }),
        call(how, ["task", "import", "-", "--json"], { env: env({ BATON_DB: dbA, BATON_AGENT: "alice" }), cwd: a }),
        // A registry named relative to the call's folder, in a third folder.
        call(how, ["claim", "k:2", "--db", "rel.db", "--json"], { env: env({ BATON_AGENT: "carol" }), cwd: c }),
        // Another name invoked, then the usual one.
        call(how, ["--help"], { env: env({}), cwd: c, bin: coordination() }),
        call(how, ["nonsense"], { env: env({}), cwd: c }),
      ];
      return { results, files: [a, b, c].map((dir) => readdirSync(dir).sort()) };
    };
    cliInThread(["--version"], { env: cleanEnv(), cwd: tempDir(), bin: CLI }); // a worker ready
    const workers = threadWorkers();
    const thread = sequence("thread");
    expect(threadWorkers() - workers, "every call of the sequence ran in the same worker").toBe(0);
    expect(thread).toEqual(sequence("process"));
  });

  it("a call that ends with process.exit() leaves the next call a fresh worker, which answers as a process does", () => {
    // A hook past its deadline answers and calls process.exit(0) (src/surfaces/cli/hooks.ts).
    const both = (how: How) => {
      const env = cleanEnv({ BATON_DB: join(tempDir(), "h.db"), BATON_HOOK_DEADLINE: "1ms" });
      const cwd = checkout();
      const workers = threadWorkers();
      const input = JSON.stringify({ session_id: "s1", hook_event_name: "SessionStart" });
      const hook = call(how, ["hook", "claude", "session-start"], { env, cwd, input });
      const fresh = threadWorkers() - workers;
      const next = call(how, ["claim", "k:1", "--json"], {
        env: cleanEnv({ BATON_DB: join(tempDir(), "n.db"), BATON_AGENT: "alice" }),
        cwd,
      });
      return { hook, next, fresh };
    };
    const thread = both("thread");
    expect(thread.fresh, JSON.stringify(thread.hook)).toBe(1);
    expect(thread.hook.stderr, thread.hook.stderr).toMatch(/no answer within <dur> \(BATON_HOOK_DEADLINE\)/);
    expect({ ...thread, fresh: 0 }).toEqual({ ...both("process"), fresh: 0 });
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
      // The worker that did not answer is dropped: the next call gets a fresh one.
      const env = cleanEnv({ BATON_DB: join(tempDir(), "after.db"), BATON_AGENT: "alice" });
      const cwd = tempDir();
      expect(call("thread", ["claim", "k:1", "--json"], { env, cwd }).code).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

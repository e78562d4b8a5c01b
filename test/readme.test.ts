/**
 * The README's shell examples, run block by block in one scratch repository, in order,
 * with the built CLI on PATH: what each command prints must be what the README shows
 * (times, tokens, durations, hashes and paths normalised; see test/readme/blocks.ts), and
 * each exits as the README says. A README example that drifts from the code fails here.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, ROOT, cleanEnv, tempDir } from "./helpers.js";
import { normalise, outputMatches, parseReadme } from "./readme/blocks.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const blocks = parseReadme(README);

const scratch = tempDir("baton-readme-");
const repo = join(scratch, "repo");
const bin = join(scratch, "bin");
const state = join(scratch, "state");
const home = join(scratch, "home");

const git = (args: string[], cwd: string) => {
  const r = spawnSync("git", args, { cwd, env: gitEnv(), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
};

function gitEnv(): NodeJS.ProcessEnv {
  return cleanEnv({
    HOME: home,
    XDG_STATE_HOME: state,
    XDG_CONFIG_HOME: join(home, ".config"),
    GIT_AUTHOR_NAME: "Readme Agent",
    GIT_AUTHOR_EMAIL: "agent@example.com",
    GIT_COMMITTER_NAME: "Readme Agent",
    GIT_COMMITTER_EMAIL: "agent@example.com",
    GIT_CONFIG_NOSYSTEM: "1",
    PATH: `${bin}:${process.env.PATH ?? ""}`,
    NO_COLOR: "1",
  });
}

function setUpScratch(): void {
  for (const dir of [repo, bin, state, home]) mkdirSync(dir, { recursive: true });
  // As npm installs the bins: a link per name to the one bundle (run by node, so the bundle
  // needs no execute bit here).
  const links = join(scratch, "links");
  mkdirSync(links);
  for (const name of ["baton", "coordination"]) {
    symlinkSync(CLI, join(links, name));
    writeFileSync(
      join(bin, name),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(links, name))} "$@"\n`,
      {
        mode: 0o755,
      },
    );
  }
  const origin = join(scratch, "origin.git");
  git(["init", "-q", "--bare", "-b", "main", origin], scratch);
  git(["init", "-q", "-b", "main", repo], scratch);
  writeFileSync(join(repo, "README.md"), "# scratch\n");
  mkdirSync(join(repo, "src", "auth"), { recursive: true });
  writeFileSync(join(repo, "src", "auth", "login.ts"), "export {};\n");
  git(["add", "-A"], repo);
  git(["commit", "-q", "-m", "scratch"], repo);
  git(["remote", "add", "origin", origin], repo);
  git(["push", "-q", "-u", "origin", "main"], repo);
}

/** Run one block's commands in one shell; returns each command's output lines and exit code. */
function runBlock(setup: readonly string[], commands: readonly string[]): { output: string[]; code: number }[] {
  const envFile = join(scratch, "env.sh");
  const cwdFile = join(scratch, "cwd");
  const parts = [
    `cd "$(cat ${JSON.stringify(cwdFile)} 2>/dev/null || echo ${JSON.stringify(repo)})"`,
    `[ -f ${JSON.stringify(envFile)} ] && . ${JSON.stringify(envFile)}`,
    ...setup.map((cmd) => `{ ${cmd}\n} </dev/null >/dev/null 2>&1`),
  ];
  commands.forEach((cmd, i) => {
    parts.push(`printf '\\036%d\\n' ${i}`, `{ ${cmd}\n} </dev/null 2>&1`, `printf '\\036=%d\\n' $?`);
  });
  parts.push(`export -p > ${JSON.stringify(envFile)}`, `pwd > ${JSON.stringify(cwdFile)}`);
  const result = spawnSync("bash", ["-c", parts.join("\n")], {
    cwd: repo,
    env: gitEnv(),
    encoding: "utf8",
    timeout: 60_000,
  });
  const results: { output: string[]; code: number }[] = [];
  let current: { output: string[]; code: number } | null = null;
  for (const line of (result.stdout ?? "").split("\n")) {
    // eslint-disable-next-line no-control-regex -- \x1e separates the blocks' outputs
    if (/^\x1e\d+$/.test(line)) {
      current = { output: [], code: -1 };
      results.push(current);
      // eslint-disable-next-line no-control-regex
    } else if (/^\x1e=\d+$/.test(line) && current) {
      current.code = Number(line.slice(2));
      current = null;
    } else if (current) current.output.push(line);
  }
  return results;
}

describe("the README's examples run as shown", () => {
  setUpScratch();
  const paths: [string, string][] = [
    [join(state, "baton"), "~/.local/state/baton"],
    [repo, "/repo"],
    [scratch, "/tmp"],
  ];
  const runnable = blocks.filter((b) => b.skip === null);

  it("has examples to run", () => {
    expect(runnable.length).toBeGreaterThan(10);
    expect(existsSync(CLI)).toBe(true);
  });

  for (const block of runnable) {
    it(`README.md:${block.line} (${block.heading})`, () => {
      const results = runBlock(
        block.setup,
        block.commands.map((c) => c.command),
      );
      block.commands.forEach((command, i) => {
        const got = results[i];
        const where = `README.md:${command.line}: ${command.command}`;
        expect(got, `${where} did not run`).toBeDefined();
        if (!got) return;
        const printed = got.output.join("\n");
        expect(got.code, `${where} exited ${got.code}:\n${printed}`).toBe(command.exit ?? 0);
        if (command.expected !== null) {
          const actual = normalise(printed, paths).split("\n");
          const expected = command.expected.map((l) => normalise(l, paths));
          expect(
            outputMatches(actual, expected),
            `${where}\n--- README shows:\n${expected.join("\n")}\n--- it printed:\n${actual.join("\n")}`,
          ).toBe(true);
        }
      });
    });
  }
});

describe("the README runner itself", () => {
  it("reads commands, shown output and exit notes", () => {
    const md = [
      "## Example",
      "```sh",
      "baton claim a:1 --as x     # exit 0: granted",
      "baton claim a:1 --as y \\",
      "  --ttl 5m",
      "# denied: a:1 is held by x since … (expires …)",
      "```",
      "<!-- readme-test: skip needs a server -->",
      "```sh",
      "curl http://localhost:7357/healthz",
      "```",
      "```",
      "$ baton list",
      "no live claims",
      "```",
    ].join("\n");
    const blocks = parseReadme(md);
    expect(blocks).toHaveLength(3);
    expect(blocks[0]?.commands).toEqual([
      { command: "baton claim a:1 --as x", expected: null, exit: 0, line: 3 },
      {
        command: "baton claim a:1 --as y  --ttl 5m",
        expected: ["denied: a:1 is held by x since … (expires …)"],
        exit: null,
        line: 4,
      },
    ]);
    expect(blocks[1]?.skip).toBe("needs a server");
    expect(blocks[2]?.commands[0]?.expected).toEqual(["no live claims"]);
  });

  it("tells drift from run-to-run differences", () => {
    const shown = normalise("claimed a:1 (token 41, expires in 59m at 2026-06-14T02:45:11.000Z)");
    expect(normalise("claimed a:1 (token 7, expires in 1h at 2026-12-01T09:00:00.000Z)")).toBe(shown);
    expect(outputMatches([shown], [shown])).toBe(true);
    expect(outputMatches([normalise("denied: a:1 is held by x")], [shown])).toBe(false);
    expect(outputMatches(["a", "b", "c"], ["a", "…"])).toBe(true);
    expect(outputMatches(["a", "b"], ["a"])).toBe(false);
    expect(outputMatches(["held by x since 9:00"], ["held by … since …"])).toBe(true);
    // An abbreviated commit of digits only is still a commit where the README shows one (failed once in a run).
    expect(outputMatches([normalise("4546307635 agent a: fix")], [normalise("0badc0ffee agent a: fix")])).toBe(true);
    expect(outputMatches([normalise("45463 agent a: fix")], [normalise("0badc0ffee agent a: fix")])).toBe(false);
  });
});

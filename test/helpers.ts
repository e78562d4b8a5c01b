/** Shared test helpers: temp dirs, and running the built CLI (in a worker thread or as a real process). */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { cliInThread } from "./cli-thread/run.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The bundled CLI (built by `npm test` before vitest runs). */
export const CLI = join(ROOT, "dist", "cli", "baton.js");
/** The built library entry, for worker processes. */
export const LIB = join(ROOT, "dist", "index.js");

const made: string[] = [];

/**
 * Remove every directory {@link tempDir} made so far. The per-file setup (test/setup/per-file.ts)
 * calls it after each test file: this module is evaluated once per worker, which may run
 * several files (vitest's `isolate: false`), so it registers no hooks of its own.
 */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh temporary directory, removed after the test file. */
export function tempDir(prefix = "baton-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/**
 * The default registries (`$XDG_STATE_HOME/baton/…`) of every process a test starts —
 * the CLI, git running hooks, workers — and of the library in this process: a fresh
 * folder per test file and per test (test/setup/per-file.ts calls {@link freshStateHome}),
 * never the real `~/.local/state`. Per test, because two scratch repositories made in the
 * same second with the same message have the same root commit, hence the same identity and
 * the same registry.
 */
export let stateHome = "";

/** Point `XDG_STATE_HOME` (and {@link stateHome}) at a new empty folder. */
export function freshStateHome(): void {
  stateHome = tempDir("baton-state-");
  process.env.XDG_STATE_HOME = stateHome;
}
freshStateHome();

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An environment without the caller's BATON_* variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("BATON_")) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Where {@link cli} runs the CLI: `thread` (the default), a fresh worker thread of this process
 * (test/cli-thread/run.ts, under half the CPU of a process); `process` (`BATON_TEST_CLI=process`),
 * a real process per call. Either proves the same; docs/TESTING.md says what differs.
 */
export const CLI_RUNNER: "thread" | "process" = process.env.BATON_TEST_CLI === "process" ? "process" : "thread";

/**
 * Run the CLI synchronously: exit code, stdout, stderr, as `node dist/cli/baton.js ARGS`
 * started in `cwd` with the clean environment plus `env`, its stdin empty. In a worker thread
 * unless `BATON_TEST_CLI=process`; always a process with `process: true` (the executable itself)
 * or when `env` sets `NODE_OPTIONS` (read by Node at a process's start only). Either way this
 * thread waits: a call to a server running in this thread needs {@link cliAsync}.
 */
export function cli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; bin?: string; process?: boolean } = {},
): CliResult {
  const env = cleanEnv(options.env);
  const cwd = options.cwd ?? tmpdir();
  const bin = options.bin ?? CLI;
  if (CLI_RUNNER === "thread" && options.process !== true && env.NODE_OPTIONS === undefined) {
    return cliInThread(args, { env, cwd, bin });
  }
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: "utf8" });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * {@link cli} for a chain of calls that may run beside another chain: in a thread each call is
 * synchronous (the cheaper way on a busy CPU); with `BATON_TEST_CLI=process` a process awaited
 * ({@link cliAsync}), so two chains overlap their processes as they would without threads.
 */
export async function cliChained(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return CLI_RUNNER === "process" ? cliAsync(args, options) : cli(args, options);
}

/** Wait for a child process to close, collecting its output. */
function collect(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Run the CLI asynchronously (for tests that race processes). */
export function cliAsync(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return collect(spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? tmpdir(), env: cleanEnv(options.env) }));
}

/** Run a node script as a real process; resolves with its stdout, rejects with its stderr on a non-zero exit. */
export async function runScript(script: string, args: readonly string[]): Promise<string> {
  const result = await collect(spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] }));
  if (result.code !== 0) throw new Error(`${script} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Every row of every table of a SQLite file, as text: what "nothing changed" is checked against. */
export function dumpSqlite(file: string): string {
  const handle = new Database(file, { readonly: true });
  try {
    const tables = handle.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    return JSON.stringify(tables.map(({ name }) => [name, handle.prepare(`SELECT * FROM "${name}"`).all()]));
  } finally {
    handle.close();
  }
}

/** Resolve once `probe()` holds, polling every 10 ms: wait for the event, not a guessed time. */
export async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Where racing processes line up: see {@link startLine}. */
export interface StartLine {
  /** Pass this to each worker where a start time went (test/workers/start-line.mjs reads it). */
  readonly dir: string;
  /** Wait until all the workers are ready, start them together, and resolve with their results. */
  release<T>(runs: readonly Promise<T>[]): Promise<T[]>;
}

/**
 * A start line for `count` worker processes racing each other: each waits at it
 * (test/workers/start-line.mjs) until all have started and opened their handles, then all go
 * at once — the event, not a guessed delay that a loaded machine overruns or a fast one wastes.
 */
export function startLine(count: number): StartLine {
  const dir = tempDir("baton-start-");
  return {
    dir,
    async release<T>(runs: readonly Promise<T>[]): Promise<T[]> {
      const all = Promise.all(runs);
      let failed = false;
      all.catch(() => {
        failed = true;
      });
      await until(
        `${count} processes at the start line`,
        () => failed || readdirSync(dir).filter((f) => f.startsWith("ready.")).length >= count,
        120_000,
      );
      writeFileSync(`${dir}/go`, "");
      return all;
    },
  };
}

/** `until()` for a probe that must ask asynchronously (a store read in this process), polling every 10 ms. */
export async function untilAsync(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sleep until the clock reads `at` (ms since the epoch): a TTL or window that must pass, no longer. */
export function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}

/** A `baton serve` child process on loopback. */
export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<number | null>;
}

/**
 * Start `baton serve --port 0` with `env` (the store's variables) and wait for its `listening on`
 * line. The reaper is off (`--no-reap`) unless `options.reap`.
 */
export async function startServe(
  env: Record<string, string>,
  args: readonly string[] = [],
  options: { reap?: boolean } = {},
): Promise<ServeProcess> {
  const reap = options.reap === true ? [] : ["--no-reap"];
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...reap, ...args], {
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^listening on (\S+)\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`baton serve exited ${code}: ${err}`)));
  });
  return {
    url,
    child,
    stderr: () => err,
    stop: () =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(child.exitCode)
        : new Promise((resolve) => {
            child.once("exit", (code) => resolve(code));
            child.kill("SIGTERM");
          }),
  };
}

/** A folder with a `git` that logs its arguments to `log`, then runs the real git. */
export function gitSpy(): { readonly bin: string; readonly log: string; calls(): number } {
  const bin = tempDir("baton-git-spy-");
  const log = join(bin, "calls.log");
  const real = (process.env.PATH ?? "")
    .split(delimiter)
    .map((dir) => join(dir, "git"))
    .find((path) => existsSync(path));
  if (real === undefined) throw new Error("git is not on PATH");
  writeFileSync(join(bin, "git"), `#!/bin/sh\necho "$*" >> "${log}"\nexec "${real}" "$@"\n`);
  chmodSync(join(bin, "git"), 0o755);
  return {
    bin,
    log,
    calls: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0),
  };
}

/**
 * A git checkout in a temp folder: `main` with one empty commit (its root, the repository's
 * identity), the `dirs` made inside it, and `.baton/RULES.md` holding `rules` when given.
 */
export function gitCheckout(options: { prefix?: string; rules?: string; dirs?: readonly string[] } = {}): string {
  const dir = tempDir(options.prefix ?? "baton-checkout-");
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@x",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@x",
  };
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: dir, env });
  execFileSync("git", ["commit", "-q", "--allow-empty", "-m", "root"], { cwd: dir, env });
  for (const sub of options.dirs ?? []) mkdirSync(join(dir, sub), { recursive: true });
  if (options.rules !== undefined) {
    mkdirSync(join(dir, ".baton"), { recursive: true });
    writeFileSync(join(dir, ".baton", "RULES.md"), options.rules);
  }
  return dir;
}

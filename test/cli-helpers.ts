/**
 * Helpers of the CLI end-to-end tests (test/cli-*.test.ts): the built CLI (through cli():
 * a fresh worker thread per call, or a process with BATON_TEST_CLI=process; spawnCli a
 * process always) on real SQLite files in temp dirs, its `--json` answers, the
 * `coordination` name, and `baton run` driven by a command that signals through files.
 *
 * What a test only inspects, not exercises — "nothing changed" — is read from the SQLite
 * file in this process (`snapshot`): every row of every table, a stricter check than the
 * CLI's `list` and `log`, and no CLI call. The commands under test always run as the CLI.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { CLI, type CliResult, cleanEnv, cli, dumpSqlite, tempDir } from "./helpers.js";

export type Env = Record<string, string>;
// JSON answers are checked field by field.
export type Json = Record<string, any>;

/** A fresh database path (not yet created). */
export function dbEnv(extra: Env = {}): Env {
  return { BATON_DB: join(tempDir(), "cli.db"), ...extra };
}

/** The `coordination` binary as npm installs it: a link with that name to the one bundled file. */
let coordinationBin: string | undefined;
export function coordination(): string {
  // Made again when a worker's previous test file removed it with its temporary folders.
  if (coordinationBin === undefined || !existsSync(coordinationBin)) {
    coordinationBin = join(tempDir("baton-bin-"), "coordination");
    symlinkSync(CLI, coordinationBin);
  }
  return coordinationBin;
}
export const binFor = (name: "baton" | "coordination"): string => (name === "baton" ? CLI : coordination());

/** stdout must be exactly one JSON object on one line; returns it. */
export function one(r: CliResult): Json {
  expect(r.stdout.endsWith("\n"), `stdout: ${JSON.stringify(r.stdout)} stderr: ${r.stderr}`).toBe(true);
  const lines = r.stdout.slice(0, -1).split("\n");
  expect(lines, r.stdout).toHaveLength(1);
  const value = JSON.parse(lines[0] as string) as unknown;
  expect(typeof value === "object" && value !== null && !Array.isArray(value), r.stdout).toBe(true);
  return value as Json;
}

/** `args` with --json added before any `--` (after it, it would be the command's). */
export function withJson(args: string[]): string[] {
  const at = args.indexOf("--");
  return at === -1 ? [...args, "--json"] : [...args.slice(0, at), "--json", ...args.slice(at)];
}

/** Run with --json and return the one object, checking the exit code. */
export function j(args: string[], env: Env, code = 0, options: { cwd?: string; bin?: string } = {}): Json {
  const r = cli(withJson(args), { env, ...options });
  expect(r.code, `${args.join(" ")} -> ${r.stdout}${r.stderr}`).toBe(code);
  return one(r);
}

/**
 * Everything the database of `env` (its BATON_DB) holds — every row of every table: claims
 * in every state, the whole log, the counters — to prove nothing changed.
 */
export function snapshot(env: Env): string {
  const db = env.BATON_DB;
  if (db === undefined) throw new Error("snapshot: the environment names no BATON_DB");
  return dumpSqlite(db);
}

export const kinds = (events: { kind: string }[]): string[] => events.map((e) => e.kind);
export const keys = (claims: { key: string }[]): string[] => claims.map((c) => c.key);
export const isoSeconds = (iso: string): string => iso.replace(/\.\d{3}Z$/, "Z");

/** The latest of some claims' `expiresAt` (ISO), in ms since the epoch, plus 1: the moment all have expired. */
export const allExpiredAt = (...claims: { expiresAt: string }[]): number =>
  Math.max(...claims.map((c) => Date.parse(c.expiresAt))) + 1;

/** Spawn the CLI without waiting, to signal or kill it. */
export function spawnCli(
  args: string[],
  env: Env,
): { child: ChildProcess; done: Promise<CliResult>; output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: tempDir(),
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code: code ?? (signal === "SIGKILL" ? 137 : -1), stdout, stderr }));
  });
  return { child, done, output: () => stdout };
}

/**
 * A command for `baton run`: records its pid and BATON_* environment in DIR/env.json,
 * waits `--hold` ms, writes DIR/ready, then waits for DIR/go (or SIGTERM, on which it
 * writes DIR/terminated and exits 3), then exits with `--exit`.
 */
export function workerScript(dir: string): string {
  const path = join(dir, "worker.cjs");
  writeFileSync(
    path,
    `
const fs = require("node:fs");
const path = require("node:path");
const [dir, hold, code] = process.argv.slice(2);
fs.writeFileSync(path.join(dir, "env.json"), JSON.stringify({
  pid: process.pid, key: process.env.BATON_KEY, token: process.env.BATON_TOKEN, agent: process.env.BATON_AGENT,
}));
process.on("SIGTERM", () => { fs.writeFileSync(path.join(dir, "terminated"), "1"); process.exit(3); });
setTimeout(() => {
  fs.writeFileSync(path.join(dir, "ready"), "1");
  const deadline = Date.now() + 30000;
  const poll = setInterval(() => {
    if (fs.existsSync(path.join(dir, "go")) || Date.now() > deadline) { clearInterval(poll); process.exit(Number(code)); }
  }, 25);
}, Number(hold));
`,
  );
  return path;
}

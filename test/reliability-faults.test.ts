/**
 * Faults on the SQLite registry, with real processes: the file deleted or replaced
 * under a live holder, a paused process holding the write lock, a lost write-ahead log
 * after a crash, a read-only file system, a full disk and a corrupted page. Each is a
 * loud exit 3 and nothing is granted twice.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { CLI, cleanEnv, cli, cliAsync, LIB, ROOT, tempDir } from "./helpers.js";

const json = (out: string): Record<string, unknown> => JSON.parse(out.trim().split("\n").pop() ?? "{}");
const errorCode = (out: string): unknown => (json(out).error as { code?: unknown } | undefined)?.code;

/** Resolves with the first chunk of `stream` that contains `text`. */
function waitFor(child: ChildProcess, stream: "stdout" | "stderr", text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child[stream]?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve(seen);
    });
    child.once("exit", (code) => reject(new Error(`exited ${code} before printing ${JSON.stringify(text)}: ${seen}`)));
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.once("close", (code) => resolve({ code, stderr }));
  });
}

describe("the registry file deleted or replaced under a live holder", () => {
  it("rm baton.db* while `baton run` renews: the holder fails loudly (exit 3) instead of renewing into the deleted file", async () => {
    const dir = tempDir();
    const db = join(dir, "baton.db");
    const env = cleanEnv({ BATON_DB: db });
    // Renews every second; before the fix it renewed into the deleted file and exited 0 after 6 s.
    const holder = spawn(process.execPath, [CLI, "run", "hot:1", "--as", "holder", "--ttl", "3s", "--", "sleep", "6"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = exited(holder);
    await waitFor(holder, "stderr", "claimed hot:1");
    for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
    // A newcomer meets a fresh file: it cannot know, and is granted token 1.
    const newcomer = await cliAsync(["claim", "hot:1", "--as", "newcomer", "--json"], { env: { BATON_DB: db } });
    expect(newcomer.code, newcomer.stderr).toBe(0);
    const { code, stderr } = await done;
    expect(code).toBe(3);
    expect(stderr).toMatch(
      /was deleted or replaced \(the path now names another file\) while this process had it open/,
    );
    expect(stderr).toMatch(/lost the claim on hot:1/);
    // The newcomer is the only holder the registry knows.
    const baton = await openBaton({ db });
    expect((await baton.show("hot:1")).claim?.agent).toBe("newcomer");
    await baton.close();
  });

  it("a file moved over the registry: every operation of the open handle is STORE_UNAVAILABLE, saying so", async () => {
    const dir = tempDir();
    const db = join(dir, "baton.db");
    const store = openSqliteStore({ path: db });
    await store.claim({ key: "k:1", agent: "a", ttlMs: 60_000, meta: null, reopen: false, doneWindowMs: 0 });
    const other = openSqliteStore({ path: join(dir, "other.db") });
    await other.close();
    renameSync(join(dir, "other.db"), db);
    await expect(store.renew({ key: "k:1", agent: "a", ttlMs: 60_000 })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
      message: expect.stringMatching(/was deleted or replaced/),
    });
    await expect(store.get("k:1")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    await store.close();
  });

  it("a relative registry path is not mistaken for a replaced file after the process changes directory", async () => {
    const dir = tempDir();
    const before = process.cwd();
    process.chdir(dir);
    try {
      const baton = await openBaton({ db: "relative.db" });
      process.chdir(tempDir());
      expect((await baton.claim("k:1", { as: "a" })).ok).toBe(true);
      await baton.close();
    } finally {
      process.chdir(before);
    }
  });

  it("withClaim sees the deleted registry as a lost lease: the signal aborts with STORE_UNAVAILABLE and the call rejects", async () => {
    const dir = tempDir();
    const db = join(dir, "baton.db");
    const baton = await openBaton({ db });
    let aborted: unknown;
    const run = baton.withClaim(
      "job:1",
      async ({ signal }) => {
        for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
        aborted = signal.reason;
      },
      { as: "w", ttl: "3s", renewEvery: "50ms" },
    );
    await expect(run).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    expect(aborted).toMatchObject({ code: "STORE_UNAVAILABLE" });
    await baton.close();
  });
});

describe("a paused process holding the write lock", () => {
  it("SIGSTOP inside a write transaction: others get exit 3 STORE_BUSY after the busy timeout, never a grant; killing the paused process frees the lock at once", async () => {
    const db = join(tempDir(), "busy.db");
    expect(cli(["claim", "held:1", "--as", "holder"], { env: { BATON_DB: db } }).code).toBe(0);
    const locker = spawn(
      process.execPath,
      [
        "-e",
        `const D = require(${JSON.stringify(join(ROOT, "node_modules", "better-sqlite3"))});
         const db = new D(${JSON.stringify(db)}); db.exec("BEGIN IMMEDIATE");
         db.prepare("UPDATE counters SET value = value WHERE name = 'fencing_token'").run();
         process.stdout.write("locked\\n"); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const gone = exited(locker);
    await waitFor(locker, "stdout", "locked");
    locker.kill("SIGSTOP");
    const env = { BATON_DB: db, BATON_BUSY_TIMEOUT: "300ms" };
    const stalled = await cliAsync(["claim", "held:1", "--as", "other", "--json"], { env });
    expect(stalled.code).toBe(3);
    expect(errorCode(stalled.stdout)).toBe("STORE_BUSY");
    locker.kill("SIGKILL");
    await gone;
    const after = await cliAsync(["claim", "held:1", "--as", "other", "--json"], { env });
    expect(after.code).toBe(1);
    expect(json(after.stdout).code).toBe("CLAIM_HELD");
  });
});

const KILLED_WRITER = `
import { openBaton } from ${JSON.stringify(LIB)};
const baton = await openBaton({ db: process.argv[2] });
for (let i = 0; i < 20; i++) {
  const r = await baton.claim("wal:" + i, { as: "writer", ttl: "1h" });
  process.stdout.write(JSON.stringify({ key: "wal:" + i, token: r.claim.token }) + "\\n");
}
process.stdout.write("done\\n");
setInterval(() => {}, 1000);
`;

/**
 * A registry whose writer acknowledged 20 grants and was SIGKILLed, its -wal then deleted (the
 * -shm left, as after a crash): the file, and the tokens the writer was given.
 */
async function killedWriterWithoutWal(): Promise<{ db: string; tokens: number[] }> {
  const dir = tempDir();
  const db = join(dir, "baton.db");
  expect(cli(["claim", "wal:base", "--as", "setup"], { env: { BATON_DB: db } }).code).toBe(0);
  const script = join(dir, "writer.mjs");
  writeFileSync(script, KILLED_WRITER);
  const writer = spawn(process.execPath, [script, db], { stdio: ["ignore", "pipe", "inherit"] });
  const out = await waitFor(writer, "stdout", "done\n");
  writer.kill("SIGKILL");
  await exited(writer);
  const tokens = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => (JSON.parse(l) as { token: number }).token);
  expect(tokens).toHaveLength(20);
  expect(existsSync(`${db}-wal`) && existsSync(`${db}-shm`)).toBe(true);
  rmSync(`${db}-wal`);
  return { db, tokens };
}

describe("a lost write-ahead log after a crash", () => {
  it("the -wal of a killed writer deleted: the next open fails loudly once, raises the fencing counter, and no token is handed out twice", async () => {
    const { db, tokens } = await killedWriterWithoutWal();

    const first = cli(["claim", "wal:0", "--as", "newcomer", "--json"], { env: { BATON_DB: db } });
    expect(first.code, first.stdout + first.stderr).toBe(3);
    expect(errorCode(first.stdout)).toBe("STORE_UNAVAILABLE");
    expect(String((json(first.stdout).error as { message: string }).message)).toMatch(/write-ahead log .* is missing/);
    // The loss is SQLite's limit: the grants are gone. What Baton keeps is the fencing order.
    const second = cli(["claim", "wal:0", "--as", "newcomer", "--json"], { env: { BATON_DB: db } });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const token = (json(second.stdout).claim as { token: number }).token;
    expect(token).toBeGreaterThan(Math.max(...tokens));
    const baton = await openBaton({ db });
    const notes = await baton.log({ key: "registry:wal", limit: 10 });
    expect(notes.map((e) => (e.detail as { code?: string } | null)?.code)).toEqual(["WAL_LOST"]);
    await baton.close();
  });

  it("the -wal of a killed writer deleted, then db repack: the repack fails loudly once too, and no token is handed out twice", async () => {
    const { db, tokens } = await killedWriterWithoutWal();

    // The repack opens the file as every command does, so the evidence in -shm is read first.
    const first = cli(["db", "repack", "--json"], { env: { BATON_DB: db } });
    expect(first.code, first.stdout + first.stderr).toBe(3);
    expect(errorCode(first.stdout)).toBe("STORE_UNAVAILABLE");
    expect(cli(["db", "repack"], { env: { BATON_DB: db } }).code).toBe(0);
    const claimed = cli(["claim", "wal:0", "--as", "newcomer", "--json"], { env: { BATON_DB: db } });
    expect(claimed.code, claimed.stdout + claimed.stderr).toBe(0);
    expect((json(claimed.stdout).claim as { token: number }).token).toBeGreaterThan(Math.max(...tokens));
  });

  it("a fencing counter behind a token in the log (a torn checkpoint) is raised loudly at open", async () => {
    const db = join(tempDir(), "torn.db");
    const setup = await openBaton({ db });
    await setup.claim("t:1", { as: "a" });
    await setup.claim("t:2", { as: "a" });
    await setup.close();
    const raw = new Database(db);
    raw.prepare("UPDATE counters SET value = 1 WHERE name = 'fencing_token'").run();
    raw.close();
    await expect(openBaton({ db })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
      message: expect.stringMatching(/fencing counter \(1\) is behind token 2/),
    });
    const baton = await openBaton({ db });
    const r = await baton.claim("t:3", { as: "a" });
    expect(r.ok && r.claim.token).toBe(3);
    await baton.close();
  });
});

// Read-only and full file systems need a small tmpfs (root with mount rights).
const MOUNT = join(tempDir("baton-mnt-"), "fs");
mkdirSync(MOUNT);
let mountable = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", MOUNT], { stdio: "ignore" });
  mountable = true;
} catch {
  console.log(`skipping the read-only and full-disk faults: cannot mount a tmpfs here (needs root with mount rights)`);
}
afterAll(() => {
  if (mountable) execFileSync("umount", ["-l", MOUNT], { stdio: "ignore" });
});

describe.skipIf(!mountable)("read-only and full file systems (a 2 MB tmpfs)", () => {
  it("read-only: exit 3 STORE_UNAVAILABLE, and after it is writable again the holder still holds", async () => {
    const db = join(MOUNT, "ro", "baton.db");
    const env = { BATON_DB: db };
    const setup = await openBaton({ db });
    await setup.claim("ro:1", { as: "holder" });
    await setup.close();
    execFileSync("mount", ["-o", "remount,ro", MOUNT]);
    try {
      const r = cli(["claim", "ro:1", "--as", "other", "--json"], { env });
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(errorCode(r.stdout)).toBe("STORE_UNAVAILABLE");
      await expect(openBaton({ db }).then((b) => b.claim("ro:2", { as: "other" }))).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
    } finally {
      execFileSync("mount", ["-o", "remount,rw", MOUNT]);
    }
    const baton = await openBaton({ db });
    expect(await baton.claim("ro:1", { as: "other" })).toMatchObject({ ok: false, code: "CLAIM_HELD" });
    await baton.close();
  });

  it("full disk: exit 3 STORE_UNAVAILABLE, every acknowledged grant kept, nothing granted twice, integrity ok", async () => {
    const dir = join(MOUNT, "full");
    const db = join(dir, "baton.db");
    const baton = await openBaton({ db });
    const acknowledged: { key: string; token: number }[] = [];
    // Fill the file system, then claim with bulky metadata until the store refuses.
    const filler = openSync(join(dir, "filler"), "w");
    try {
      writeSync(filler, Buffer.alloc(1024 * 1024));
    } catch {
      // already full
    }
    closeSync(filler);
    let failure: unknown;
    for (let i = 0; i < 2000 && failure === undefined; i++) {
      try {
        const r = await baton.claim(`full:${i}`, { as: "a", ttl: "1h", meta: { pad: "x".repeat(2000) } });
        if (r.ok) acknowledged.push({ key: `full:${i}`, token: r.claim.token });
      } catch (error) {
        failure = error;
      }
    }
    expect(failure).toMatchObject({ code: "STORE_UNAVAILABLE" });
    const cliFull = cli(
      ["claim", "full:x", "--as", "b", "--json", "--meta", JSON.stringify({ pad: "y".repeat(4000) })],
      {
        env: { BATON_DB: db },
      },
    );
    expect(cliFull.code, cliFull.stdout + cliFull.stderr).toBe(3);
    await baton.close();
    rmSync(join(dir, "filler"));
    const raw = new Database(db);
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    const token = raw.prepare("SELECT token FROM claims WHERE key = ? AND agent = 'a'");
    for (const a of acknowledged)
      expect((token.get(a.key) as { token: number } | undefined)?.token, a.key).toBe(a.token);
    raw.close();
    const again = cli(["claim", acknowledged[0]?.key ?? "full:0", "--as", "b", "--json"], { env: { BATON_DB: db } });
    expect(again.code).toBe(1);
    expect(acknowledged.length).toBeGreaterThan(5);
  });
});

describe("a corrupted page", () => {
  it("garbage over the claims table's pages: exit 3 STORE_UNAVAILABLE, never a grant", async () => {
    const db = join(tempDir(), "corrupt.db");
    const env = { BATON_DB: db };
    expect(cli(["claim", "c:1", "--as", "holder"], { env }).code).toBe(0);
    const raw = new Database(db);
    raw.pragma("wal_checkpoint(TRUNCATE)");
    const pageSize = raw.pragma("page_size", { simple: true }) as number;
    const roots = raw
      .prepare("SELECT rootpage FROM sqlite_master WHERE tbl_name = 'claims' AND rootpage > 0")
      .all() as { rootpage: number }[];
    raw.close();
    const fd = openSync(db, "r+");
    for (const { rootpage } of roots)
      writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(fd);
    for (const agent of ["other", "holder"]) {
      const r = cli(["claim", "c:1", "--as", agent, "--json"], { env });
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(errorCode(r.stdout)).toBe("STORE_UNAVAILABLE");
    }
  });
});

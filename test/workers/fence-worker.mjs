// One lock-set worker for test/fencing.test.ts: one OS process that increments a shared
// counter while it holds a short-TTL claim on one key.
//
// argv: LIB_URL CONFIG_JSON
//   CONFIG_JSON {mode, db, resource, key, agent, ttlMs, workMs, runMs}
//     mode  "check": `check(key, token)` then read, work, write (temp + rename): the unsafe pattern
//           "file":  fencedModifyFile(resource, token, …): the file helper
//           "sql":   fencedModify(sqlite db at resource, counter row 1, token, …): the SQL helper
//
// Each increment reads the counter, "works" for workMs (the window a pause lands in), and
// writes counter + 1; an increment counts as acknowledged only when the write returned ok.
// Start: prints "ready" once open, then runs for runMs after the line "go" arrives on stdin
// (so a slow start of one process does not eat into the others' run).
// stdout: "ready", then one JSON line {agent, acked, refused, grants}.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";

const [libUrl, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);
const lib = await import(libUrl);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const baton = await lib.openBaton({ db: config.db, busyTimeout: "20s" });
const sql = config.mode === "sql" ? new Database(config.resource, { timeout: 20_000 }) : null;
process.stdout.write("ready\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
process.stdin.pause();
const untilMs = Date.now() + config.runMs;
let acked = 0;
let refused = 0;
let grants = 0;

/** The unsafe pattern: a check, then a separate read and write. */
async function checkedIncrement(token) {
  const check = await baton.check(config.key, token);
  if (!check.ok) return false;
  const value = Number(readFileSync(config.resource, "utf8"));
  await sleep(config.workMs);
  const temp = `${config.resource}.${process.pid}.tmp`;
  writeFileSync(temp, String(value + 1));
  renameSync(temp, config.resource);
  return true;
}

async function fencedIncrement(token) {
  if (config.mode === "file") {
    const r = await lib.fencedModifyFile(config.resource, token, async (data) => {
      await sleep(config.workMs);
      return String(Number(data?.toString() ?? "0") + 1);
    });
    return r.ok;
  }
  const r = await lib.fencedModify(sql, { table: "counter", id: 1, token }, async (row) => {
    await sleep(config.workMs);
    return { value: Number(row.value) + 1 };
  });
  return r.ok;
}

while (Date.now() < untilMs) {
  const claim = await baton.claim(config.key, { as: config.agent, ttl: config.ttlMs });
  if (!claim.ok) {
    await sleep(3 + Math.random() * 10);
    continue;
  }
  grants++;
  const token = claim.claim.token;
  for (let i = 0; i < 4 && Date.now() < untilMs; i++) {
    const ok = config.mode === "check" ? await checkedIncrement(token) : await fencedIncrement(token);
    if (!ok) {
      refused++;
      break;
    }
    acked++;
  }
  await baton.release(config.key, { as: config.agent });
}
await baton.close();
sql?.close();
process.stdout.write(`${JSON.stringify({ agent: config.agent, acked, refused, grants })}\n`);

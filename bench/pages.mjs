// Write amplification on SQLite: WAL pages (frames) written per commit by a claim+complete
// pair, Baton vs the bare SQL on Baton's schema vs the minimal schema (bench/bare.mjs).
// Each store is warmed with 2,000 pairs, its WAL emptied, then N pairs are run with
// automatic checkpoints off and the frames in the WAL counted.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bareSqlite, minimalSqlite } from "./bare.mjs";
import { fmt, LIB, table, tempDir } from "./lib.mjs";

const { openBaton, openSqliteStore } = await import(pathToFileURL(LIB).href);
const HOUR = 3_600_000;

/** Frames added to the WAL by `pairs` pairs of `op`, per commit (two commits a pair). */
async function framesPerCommit(db, op, pairs) {
  for (let i = 0; i < 2000; i++) await op(`warm:${i}`);
  db.pragma("wal_autocheckpoint = 0");
  db.pragma("wal_checkpoint(TRUNCATE)");
  for (let i = 0; i < pairs; i++) await op(`run:${i}`);
  // The WAL-index header counts valid frames; reading it needs no file parsing.
  const [{ log }] = db.pragma("wal_checkpoint(PASSIVE)");
  return log / (2 * pairs);
}

export async function run({ quick }) {
  const pairs = quick ? 300 : 1000;
  const rows = [];
  const store = openSqliteStore({ path: join(tempDir(), "baton.db") });
  const baton = await openBaton({ store });
  const viaBaton = async (i) => {
    await baton.claim(`task:${i}`, { as: "bench", ttl: HOUR });
    await baton.complete(`task:${i}`, { as: "bench", result: "ok" });
  };
  const b = await framesPerCommit(store.database, viaBaton, pairs);
  await baton.close();
  const dir = tempDir();
  await (await openBaton({ db: join(dir, "bare.db") })).close();
  const bare = bareSqlite(join(dir, "bare.db"), "FULL");
  const s = await framesPerCommit(bare.db, bare.op, pairs);
  bare.close();
  const minimal = minimalSqlite(join(tempDir(), "minimal.db"), "FULL");
  const m = await framesPerCommit(minimal.db, minimal.op, pairs);
  minimal.close();
  rows.push(["Baton", fmt(b, 2), `${(b / m).toFixed(2)}x`]);
  rows.push(["bare SQL, Baton's schema", fmt(s, 2), `${(s / m).toFixed(2)}x`]);
  rows.push(["minimal bare SQL (one claims row, one event row)", fmt(m, 2), "1.00x"]);
  return {
    name: "pages",
    rows,
    text: table(
      `SQLite pages written per commit (WAL frames; ${fmt(pairs)} claim+complete pairs after 2,000)`,
      ["writer", "pages / commit", "vs minimal"],
      rows,
    ),
  };
}

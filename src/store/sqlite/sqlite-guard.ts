/**
 * What the SQLite store checks so that faults it can see are loud, not silent
 * (docs/RELIABILITY.md):
 *
 * - **file identity**: the registry file deleted or replaced under a live process
 *   (`rm baton.db*`) would let the process keep deciding into a file nobody else
 *   sees while a newcomer starts a fresh one. One `stat` per operation compares
 *   the path's device and inode with the file opened.
 * - **the clock's high-water mark**: decisions never use a time earlier than the
 *   latest time the store recorded (the time of the newest event, or the `clock_ms`
 *   row of `counters` for a write that logs none), so a clock stepped back cannot
 *   hand out a lease that already expired for everyone else, nor shorten a renewing
 *   holder's lease.
 * - **a lost write-ahead log**: committed transactions that lived only in `-wal`
 *   when it was lost. Read from the `-shm` index before SQLite opens (and resets)
 *   it; the fencing counter is raised past every token that can have been lost.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type Database from "better-sqlite3";
import { BatonError } from "../../core/errors.js";

/** The device and inode of the file opened, and its absolute path (a later chdir changes nothing). */
export interface FileIdentity {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/** The identity of the file at `path` now, or `undefined` when it is gone. */
export function fileIdentity(path: string): FileIdentity | undefined {
  const absolute = resolve(path);
  const stat = statSync(absolute, { throwIfNoEntry: false });
  return stat === undefined ? undefined : { path: absolute, dev: stat.dev, ino: stat.ino };
}

/**
 * Fail with `STORE_UNAVAILABLE` unless the file at the registry's path is still the
 * one opened (`opened`). Costs one `stat`; `path` is only for the message.
 */
export function assertSameFile(path: string, opened: FileIdentity): void {
  // opened.path is absolute already: stat it as it is (resolving it again cost as much as the stat).
  const now = statSync(opened.path, { throwIfNoEntry: false });
  if (now !== undefined && now.dev === opened.dev && now.ino === opened.ino) return;
  const what = now === undefined ? "deleted" : "deleted or replaced (the path now names another file)";
  throw new BatonError(
    "STORE_UNAVAILABLE",
    `the registry file ${path} was ${what} while this process had it open; stopping: a decision made now would go to a file no other agent sees (treat every claim of this process as lost, and open the registry again)`,
    { path, reason: now === undefined ? "deleted" : "replaced" },
  );
}

/** The counters row holding the clock's high-water mark. */
export const CLOCK_ROW = "clock_ms";

/**
 * SQL that records `?` (a decision time) as the store's time unless the store has recorded
 * a later one: run by a write that logs no event (an event's time records it otherwise).
 */
export const ADVANCE_CLOCK_SQL = `INSERT INTO counters (name, value) VALUES ('${CLOCK_ROW}', ?)
  ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`;

/**
 * SQL returning the time to decide or read at: `max(?, mark)`, `?` being the process clock and
 * the mark the latest time the store recorded: the newest event's time (every event is logged
 * at its decision time, which is never below an earlier one, so the newest holds the latest),
 * or the `clock_ms` row that writes logging no event advance. Reading it writes nothing: a
 * write that logs an event no longer rewrites the counters page (~1 page of each completion).
 */
export const CLOCK_MARK_SQL = `SELECT max(?,
  coalesce((SELECT value FROM counters WHERE name = '${CLOCK_ROW}'), 0),
  coalesce((SELECT at FROM events ORDER BY id DESC LIMIT 1), 0))`;

// The wal-index header at the start of `-shm` (native byte order), see SQLite's wal.c:
// two 48-byte copies of WalIndexHdr, then WalCkptInfo whose first field is nBackfill.
const WAL_INDEX_VERSION = 3007000;
const HEADER_BYTES = 136;

interface WalIndex {
  readonly change: number;
  readonly mxFrame: number;
  readonly backfilled: number;
}

function readWalIndex(shmPath: string): WalIndex | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(shmPath, "r");
    const buffer = Buffer.alloc(HEADER_BYTES);
    if (readSync(fd, buffer, 0, HEADER_BYTES, 0) < HEADER_BYTES) return undefined;
    const le = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    const u32 = (offset: number): number => (le ? buffer.readUInt32LE(offset) : buffer.readUInt32BE(offset));
    // Both header copies equal and initialised, else the index is in flux or blank.
    if (u32(0) !== WAL_INDEX_VERSION || buffer[12] !== 1 || !buffer.subarray(0, 48).equals(buffer.subarray(48, 96))) {
      return undefined;
    }
    return { change: u32(8), mxFrame: u32(16), backfilled: u32(96) };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * How many committed WAL frames were lost: the `-shm` index says frames exist that
 * were never copied into the database (`mxFrame > nBackfill`) but `-wal` is gone.
 * 0 when nothing was lost or nothing can be told. Call before SQLite opens the file
 * (the first opener resets the index). A clean close that checkpoints and deletes
 * the log while we look updates the index first, so the second read sees it.
 */
export function lostWalFrames(path: string): number {
  const shm = `${path}-shm`;
  if (!existsSync(shm)) return 0;
  const before = readWalIndex(shm);
  if (before === undefined || before.mxFrame <= before.backfilled) return 0;
  if (existsSync(`${path}-wal`)) return 0;
  const after = readWalIndex(shm);
  if (after === undefined || after.change !== before.change || after.backfilled !== before.backfilled) return 0;
  return before.mxFrame - before.backfilled;
}

/** Refuse to open read-only (without repairing) a registry whose WAL was lost: the evidence must survive. */
export function lostWalRefusal(path: string, lostFrames: number): BatonError {
  return new BatonError(
    "STORE_UNAVAILABLE",
    `the registry ${path} lost writes: its write-ahead log ${path}-wal is missing while the index ${path}-shm says ${lostFrames} committed frame(s) were never copied into the database; run any command that writes (e.g. baton db migrate) to raise the fencing counter and record the loss`,
    { path, code: "WAL_LOST", lostFrames },
  );
}

/**
 * After opening: if frames were lost (`lostFrames`), or the log holds a token the
 * fencing counter has not reached (a torn checkpoint), raise the counter past every
 * token that can have been handed out, log a `noted` event on `registry:wal`, and
 * fail once with `STORE_UNAVAILABLE` saying what happened. The next open proceeds.
 */
export function repairLostWrites(db: Database.Database, path: string, lostFrames: number): void {
  const counter = (): number =>
    (db.prepare("SELECT value FROM counters WHERE name = 'fencing_token'").get() as { value: number } | undefined)
      ?.value ?? 0;
  const recent = (): number =>
    (
      db.prepare("SELECT max(token) AS t FROM (SELECT token FROM events ORDER BY id DESC LIMIT 64)").get() as {
        t: number | null;
      }
    ).t ?? 0;
  if (lostFrames === 0 && recent() <= counter()) return;
  const detail = db
    .transaction(() => {
      const highest = Math.max(
        recent(),
        (db.prepare("SELECT max(token) AS t FROM events").get() as { t: number | null }).t ?? 0,
        (db.prepare("SELECT max(token) AS t FROM claims").get() as { t: number | null }).t ?? 0,
        (db.prepare("SELECT max(token) AS t FROM path_claims").get() as { t: number | null }).t ?? 0,
      );
      const from = counter();
      // Each lost commit drew at most one token and wrote at least one frame.
      const to = Math.max(from, highest) + lostFrames;
      db.prepare("UPDATE counters SET value = ? WHERE name = 'fencing_token'").run(to);
      // At the store's time, not below it: the newest event's time is the clock's mark.
      const now = db.prepare(CLOCK_MARK_SQL).pluck().get(Date.now()) as number;
      const info = {
        code: lostFrames > 0 ? "WAL_LOST" : "COUNTER_BEHIND",
        lostFrames,
        counterWas: from,
        highestToken: highest,
        counterNow: to,
      };
      db.prepare(
        "INSERT INTO events (at, kind, key, agent, token, commit_sha, detail) VALUES (?, 'noted', 'registry:wal', 'baton', NULL, NULL, ?)",
      ).run(now, JSON.stringify(info));
      return info;
    })
    .immediate();
  const cause =
    lostFrames > 0
      ? `its write-ahead log ${path}-wal is missing while the index ${path}-shm says ${lostFrames} committed frame(s) were never copied into the database: claims acknowledged since the last checkpoint are lost`
      : `its fencing counter (${detail.counterWas}) is behind token ${detail.highestToken} in its own log (a torn checkpoint or a lost log)`;
  throw new BatonError(
    "STORE_UNAVAILABLE",
    `the registry ${path} lost writes: ${cause}. The fencing counter is raised to ${detail.counterNow} so no token is handed out twice, and a note is in the log (key registry:wal); tell the fleet, then run the command again`,
    { path, ...detail },
  );
}

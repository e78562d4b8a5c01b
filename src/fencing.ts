/**
 * Fencing done right: helpers that make a resource check the fencing token atomically
 * with each write, and record it on each read.
 *
 * Why `baton check KEY --token N && write` is not enough: the check is one read, the write
 * another, and a holder can pause between them (GC, swap, SIGSTOP, a slow disk) past its
 * lease. Another agent is then granted the key and writes; the paused one wakes and writes
 * over it. A ledger that only refuses older tokens on write still loses an update in a
 * read-modify-write: A reads, pauses; B is granted and reads the same value; A writes
 * (its token is still the highest the resource has seen); B writes; A's update is gone.
 * The resource itself must (1) compare the token and write in one atomic step, refusing a
 * token lower than the highest it has seen, and (2) record the token on reads too, so a
 * read by the new holder fences off the old holder's pending write.
 *
 * Two resources Baton can reach are covered here:
 *
 * - a row of a SQL table (better-sqlite3 or node-postgres): {@link fencedRead},
 *   {@link fencedUpdate}, {@link fencedModify}. The row keeps the highest token in a column
 *   (`fence_token` by default); each call is one `UPDATE … WHERE id = ? AND fence_token <= ?`
 *   statement, so the database serialises the check with the write;
 * - a file: {@link fencedReadFile}, {@link fencedWriteFile}, {@link fencedModifyFile}. The
 *   highest token lives in a `FILE.fence` sidecar; every call takes an exclusive lock file
 *   (`FILE.lock`, created with `O_EXCL`), checks and records the token, and replaces the file
 *   by writing a temporary file and renaming it over (readers see the old or the new
 *   content, never half of one).
 *
 * A refused call is a value, `{ ok: false, code: "TOKEN_STALE" }`: stop, you no longer hold
 * the work. For a deploy, `baton sync-check --holding KEY:TOKEN` stays the gate; it narrows
 * the window the same way `check` does and cannot close it either.
 *
 * @packageDocumentation
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { BatonError } from "./core/errors.js";
import { parseToken } from "./core/identity.js";
import { type DurationInput, durationMs } from "./core/schemas.js";

// ---------------------------------------------------------------------------
// SQL rows
// ---------------------------------------------------------------------------

/** The part of a better-sqlite3 `Database` the helpers use. */
export interface FenceSqliteDb {
  prepare(sql: string): { get(...params: unknown[]): unknown };
}

/** The part of a node-postgres `Pool` or `Client` the helpers use. */
export interface FencePgDb {
  query(text: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A SQL connection: better-sqlite3's `Database`, or a node-postgres `Pool` or `Client`. */
export type FenceDb = FenceSqliteDb | FencePgDb;

/** Which row, and the token of the claim you hold. */
export interface FencedRow {
  /** The table, optionally schema-qualified (`app.ledger`): letters, digits and `_`. */
  readonly table: string;
  /** The row's id (the value of `idColumn`). */
  readonly id: string | number | bigint;
  /** The fencing token of your live claim (`claim.token`). */
  readonly token: number;
  /** The id column. Default `id`. */
  readonly idColumn?: string;
  /**
   * The column holding the highest token the row has seen: an integer, 0 or NULL for a row
   * no holder touched yet. Default `fence_token`.
   */
  readonly tokenColumn?: string;
}

/** A refused fenced call: a newer holder has read or written the resource, or there is none. */
export interface FenceRefusal {
  readonly ok: false;
  /** `TOKEN_STALE`: the resource has seen a newer token. `NOT_FOUND`: no such row. */
  readonly code: "TOKEN_STALE" | "NOT_FOUND";
  /** The highest token the resource has seen (null when there is no row). */
  readonly current: number | null;
  readonly message: string;
}

/** The answer of a fenced read or write: the row (after the call) or a refusal. */
export type FencedRowResult<Row> = { readonly ok: true; readonly row: Row } | FenceRefusal;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function ident(name: string, what: string): string {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new BatonError(
      "BAD_INPUT",
      `invalid ${what} ${JSON.stringify(name)}: letters, digits and _ (schema.table allowed)`,
    );
  }
  return parts.map((p) => `"${p}"`).join(".");
}

function isSqlite(db: FenceDb): db is FenceSqliteDb {
  return typeof (db as FenceSqliteDb).prepare === "function";
}

/** Run one statement returning at most one row, with `?` parameters (numbered for PostgreSQL). */
async function one(db: FenceDb, sql: string, params: unknown[]): Promise<Record<string, unknown> | undefined> {
  if (isSqlite(db)) return db.prepare(sql).get(...params) as Record<string, unknown> | undefined;
  let n = 0;
  const { rows } = await db.query(
    sql.replace(/\?/g, () => `$${++n}`),
    params,
  );
  return rows[0] as Record<string, unknown> | undefined;
}

function targetOf(row: FencedRow) {
  return {
    table: ident(row.table, "table"),
    id: ident(row.idColumn ?? "id", "id column"),
    tok: ident(row.tokenColumn ?? "fence_token", "token column"),
    token: parseToken(row.token),
  };
}

/** Why nothing matched: no row, or a newer token. Informational only: the decision was the statement's. */
async function refusal(db: FenceDb, row: FencedRow, t: ReturnType<typeof targetOf>): Promise<FenceRefusal> {
  const found = await one(db, `SELECT ${t.tok} AS token FROM ${t.table} WHERE ${t.id} = ?`, [row.id]);
  if (found === undefined) {
    return {
      ok: false,
      code: "NOT_FOUND",
      current: null,
      message: `${row.table}: no row with ${row.idColumn ?? "id"} = ${String(row.id)}`,
    };
  }
  const current = Number(found.token ?? 0);
  return {
    ok: false,
    code: "TOKEN_STALE",
    current,
    message: `token ${t.token} is stale for ${row.table} ${String(row.id)}: it has seen token ${current}; stop, another agent holds the work`,
  };
}

/**
 * Read a row and record your token on it, in one statement (`UPDATE … SET fence_token = N
 * WHERE id = ? AND fence_token <= N RETURNING *`). From then on a holder with an older token
 * can no longer write the row, so the value you read cannot be overwritten by a stale
 * read-modify-write.
 *
 * @throws BatonError `BAD_INPUT` (a table or column name that is not an identifier), `BAD_TOKEN`
 */
export async function fencedRead<Row = Record<string, unknown>>(
  db: FenceDb,
  row: FencedRow,
): Promise<FencedRowResult<Row>> {
  const t = targetOf(row);
  const got = await one(
    db,
    `UPDATE ${t.table} SET ${t.tok} = ? WHERE ${t.id} = ? AND coalesce(${t.tok}, 0) <= ? RETURNING *`,
    [t.token, row.id, t.token],
  );
  return got === undefined ? refusal(db, row, t) : { ok: true, row: got as Row };
}

/**
 * Write columns of a row only if your token is not older than any the row has seen, and
 * record it: one statement, `UPDATE … SET col = ?, …, fence_token = N WHERE id = ? AND
 * fence_token <= N RETURNING *`. For a read-modify-write, read with {@link fencedRead}
 * first (or use {@link fencedModify}).
 *
 * @param set column → new value (column names: letters, digits and `_`).
 * @throws BatonError `BAD_INPUT`, `BAD_TOKEN`
 */
export async function fencedUpdate<Row = Record<string, unknown>>(
  db: FenceDb,
  row: FencedRow,
  set: Readonly<Record<string, unknown>>,
): Promise<FencedRowResult<Row>> {
  const t = targetOf(row);
  const columns = Object.keys(set);
  if (columns.length === 0) throw new BatonError("BAD_INPUT", "fencedUpdate: nothing to set");
  const assignments = columns.map((c) => `${ident(c, "column")} = ?`);
  const got = await one(
    db,
    `UPDATE ${t.table} SET ${assignments.join(", ")}, ${t.tok} = ? WHERE ${t.id} = ? AND coalesce(${t.tok}, 0) <= ? RETURNING *`,
    [...columns.map((c) => set[c]), t.token, row.id, t.token],
  );
  return got === undefined ? refusal(db, row, t) : { ok: true, row: got as Row };
}

/**
 * A fenced read-modify-write of one row: {@link fencedRead} (records your token), then
 * `change(row)` computes the new column values, then {@link fencedUpdate}. If a newer holder
 * read or wrote the row meanwhile, the write is refused (`TOKEN_STALE`) and nothing changes.
 */
export async function fencedModify<Row = Record<string, unknown>>(
  db: FenceDb,
  row: FencedRow,
  change: (current: Row) => Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>>,
): Promise<FencedRowResult<Row>> {
  const read = await fencedRead<Row>(db, row);
  if (!read.ok) return read;
  return fencedUpdate<Row>(db, row, await change(read.row));
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/** Options of the fenced file helpers. */
export interface FencedFileOptions {
  /** How long to wait for another writer's lock file: ms or `10s`. Default 10 s. */
  readonly lockTimeout?: DurationInput;
}

/** The answer of a fenced file read: the content (`null` when the file does not exist yet) or a refusal. */
export type FencedReadFileResult =
  { readonly ok: true; readonly data: Buffer | null; readonly token: number } | FenceRefusal;
/** The answer of a fenced file write. */
export type FencedWriteFileResult = { readonly ok: true; readonly token: number } | FenceRefusal;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The sidecar holding the highest token the file has seen. */
export const fenceFileOf = (path: string): string => `${path}.fence`;
const lockFileOf = (path: string): string => `${path}.lock`;

function readFenceToken(path: string): number {
  try {
    const value = Number(readFileSync(fenceFileOf(path), "utf8").trim());
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}

/** Replace `path` with `data`: a temporary file in the same folder, fsync, rename over, fsync the folder. */
function replaceFile(path: string, data: string | Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(temp, "wx", 0o644);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
  try {
    const dir = openSync(dirname(path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some file systems cannot fsync a folder; the rename itself is still atomic.
  }
}

/** True when the lock file names a process on this machine that no longer exists. */
function lockOwnerGone(text: string): boolean {
  const [pid, host] = text.split(" ");
  if (host !== hostname() || !/^\d+$/.test(pid ?? "")) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Take `FILE.lock` (created exclusively, holding `pid host`), run `fn`, remove the lock.
 * A lock left by a process of this machine that is gone (SIGKILL) is broken; a live
 * holder — also a paused one — is waited for, up to the timeout.
 */
async function underLock<T>(path: string, options: FencedFileOptions, fn: () => T): Promise<T> {
  const lock = lockFileOf(path);
  const timeout = durationMs(options.lockTimeout ?? 10_000, "lockTimeout");
  const mine = `${process.pid} ${hostname()} ${randomBytes(6).toString("hex")}`;
  const deadline = Date.now() + timeout;
  for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
    try {
      const fd = openSync(lock, "wx", 0o644);
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let held = "";
    try {
      held = readFileSync(lock, "utf8");
    } catch {
      continue; // released meanwhile
    }
    if (held !== "" && lockOwnerGone(held)) {
      // Break it by moving it aside first, so two breakers cannot both delete a fresh lock.
      const aside = `${lock}.${process.pid}.${randomBytes(4).toString("hex")}.stale`;
      try {
        renameSync(lock, aside);
        if (readFileSync(aside, "utf8") !== held) {
          // Someone re-took the lock between our read and the rename: put theirs back.
          try {
            linkSync(aside, lock);
          } catch {
            // A third writer has it now; theirs stands.
          }
        }
        unlinkSync(aside);
      } catch {
        // Another breaker moved it first.
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new BatonError(
        "RESOURCE_BUSY",
        `${path}: the lock file ${lock} stayed held by ${held.split(" ").slice(0, 2).join(" on ")} for ${timeout} ms`,
        { lock, holder: held },
      );
    }
    await sleep(wait);
  }
  try {
    return fn();
  } finally {
    try {
      if (readFileSync(lock, "utf8") === mine) unlinkSync(lock);
    } catch {
      // Already gone (broken as stale by another process): nothing to release.
    }
  }
}

function staleFile(path: string, token: number, current: number): FenceRefusal {
  return {
    ok: false,
    code: "TOKEN_STALE",
    current,
    message: `token ${token} is stale for ${path}: it has seen token ${current}; stop, another agent holds the work`,
  };
}

/**
 * Read a file and record your token in its `FILE.fence` sidecar, under the file's lock:
 * from then on a holder with an older token can no longer write the file.
 *
 * @throws BatonError `BAD_TOKEN`, `RESOURCE_BUSY` (the lock stayed held past `lockTimeout`)
 */
export function fencedReadFile(
  path: string,
  token: number,
  options: FencedFileOptions = {},
): Promise<FencedReadFileResult> {
  const mine = parseToken(token);
  return underLock(path, options, (): FencedReadFileResult => {
    const current = readFenceToken(path);
    if (mine < current) return staleFile(path, mine, current);
    if (mine > current) replaceFile(fenceFileOf(path), `${mine}\n`);
    try {
      return { ok: true, data: readFileSync(path), token: mine };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, data: null, token: mine };
      throw error;
    }
  });
}

/**
 * Replace a file's content only if your token is not older than any the file has seen:
 * under the file's lock, the token is checked and recorded (the sidecar first, so a crash
 * in between still fences older holders off), then the content is written to a temporary
 * file and renamed over the file. For a read-modify-write, read with {@link fencedReadFile}
 * first (or use {@link fencedModifyFile}).
 *
 * @throws BatonError `BAD_TOKEN`, `RESOURCE_BUSY`
 */
export function fencedWriteFile(
  path: string,
  data: string | Uint8Array,
  token: number,
  options: FencedFileOptions = {},
): Promise<FencedWriteFileResult> {
  const mine = parseToken(token);
  return underLock(path, options, (): FencedWriteFileResult => {
    const current = readFenceToken(path);
    if (mine < current) return staleFile(path, mine, current);
    if (mine > current) replaceFile(fenceFileOf(path), `${mine}\n`);
    replaceFile(path, data);
    return { ok: true, token: mine };
  });
}

/**
 * A fenced read-modify-write of a file: {@link fencedReadFile} (records your token), then
 * `change(content)` computes the new content (`content` is `null` when the file does not
 * exist), then {@link fencedWriteFile}. If a newer holder read or wrote the file meanwhile,
 * the write is refused (`TOKEN_STALE`) and the file keeps the newer holder's content.
 */
export async function fencedModifyFile(
  path: string,
  token: number,
  change: (current: Buffer | null) => string | Uint8Array | Promise<string | Uint8Array>,
  options: FencedFileOptions = {},
): Promise<FencedWriteFileResult> {
  const read = await fencedReadFile(path, token, options);
  if (!read.ok) return read;
  return fencedWriteFile(path, await change(read.data), token, options);
}

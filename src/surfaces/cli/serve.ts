/**
 * `baton serve`: one registry for a fleet over HTTP. Binds loopback by default and
 * refuses any other address while no token exists; one server per SQLite file (a lock
 * file names the running one); reaps stale claims on a schedule; shuts down gracefully on
 * SIGTERM/SIGINT (in-flight requests finish, event streams close).
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { isIP } from "node:net";
import { parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import type { CommonFlags } from "./main.js";
import { emitError } from "./output.js";
import { configFor, openFromConfig } from "./session.js";

export interface ServeFlags extends CommonFlags {
  host?: string;
  port?: string;
  reap?: boolean;
  reapEvery?: string;
  reapMinAge?: string;
  streamPoll?: string;
  /** `--no-group-commit` sets it false: one SQLite transaction per request. */
  groupCommit?: boolean;
}

/** PostgreSQL connections of a server's pool. */
const SERVE_POOL_SIZE = 10;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || (isIP(host) === 4 && host.startsWith("127."));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Take the one-server-per-file lock next to the SQLite file: created exclusively, so two
 * servers starting at once cannot both win; a lock left by a dead process is taken over.
 */
function lockSqlite(db: string, url: () => string): { write: () => void; release: () => void } {
  const path = `${db}.serve.json`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      writeSync(fd, `${JSON.stringify({ pid: process.pid })}\n`);
      closeSync(fd);
      return {
        write: () => writeFileSync(path, `${JSON.stringify({ pid: process.pid, url: url() })}\n`),
        release: () => rmSync(path, { force: true }),
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder: { pid?: number; url?: string } = {};
      try {
        holder = JSON.parse(readFileSync(path, "utf8")) as { pid?: number; url?: string };
      } catch {
        // Unreadable: being written this instant, or left half-written by a crash. Only a
        // fresh file can be the former.
        const stat = statSync(path, { throwIfNoEntry: false });
        holder = stat !== undefined && Date.now() - stat.mtimeMs < 5_000 ? { pid: -1 } : {};
      }
      if (holder.pid === -1 || (typeof holder.pid === "number" && alive(holder.pid))) {
        throw new BatonError(
          "SERVER_RUNNING",
          `another baton serve (pid ${holder.pid === -1 ? "starting" : holder.pid}${holder.url ? `, ${holder.url}` : ""}) serves ${db}: use it (BATON_URL) or stop it first`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new BatonError("SERVER_RUNNING", `could not take the server lock for ${db}`);
}

export async function serve(flags: ServeFlags): Promise<void> {
  const mode = { json: false };
  try {
    const host = flags.host ?? "127.0.0.1";
    const port = Number(flags.port ?? "7357");
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new BatonError(
        "BAD_OPTION",
        `invalid --port ${JSON.stringify(flags.port)}: 0 to 65535 (0 picks a free port)`,
      );
    }
    const reapEvery = flags.reap === false ? null : parseDuration(flags.reapEvery ?? "5m", { name: "--reap-every" });
    const reapMinAge = parseDuration(flags.reapMinAge ?? "24h", { name: "--reap-min-age" });
    const streamPollMs =
      flags.streamPoll === undefined ? undefined : parseDuration(flags.streamPoll, { name: "--stream-poll" });
    const config = await configFor(flags);
    const groupCommit = flags.groupCommit !== false;
    // A server answers many clients at once: a PostgreSQL pool, not the CLI's one connection.
    // BATON_URL names a server to use, not this one (forServer).
    const baton = await openFromConfig(config, { groupCommit, poolSize: SERVE_POOL_SIZE, forServer: true });
    const tokens = await baton.tokens.list();
    if (!isLoopback(host) && !tokens.some((t) => t.revokedAt === null)) {
      await baton.close();
      throw new BatonError(
        "BAD_OPTION",
        `refusing to listen on ${host} (beyond loopback) without tokens: create them first (baton tokens add AGENT)`,
      );
    }
    let address = "";
    const sqlite = baton.store.capabilities.multiMachine ? null : baton.store.description.replace(/^sqlite:/, "");
    const lock = sqlite === null ? null : lockSqlite(sqlite, () => address);
    const { createHttpServer } = await import("../http/http-server.js");
    const app = await createHttpServer(baton, {
      ...(streamPollMs === undefined ? {} : { streamWatch: false, streamPollMs }),
      hooks: { policy: config.harness, rulesFile: config.rulesFile, cwd: process.cwd() },
    });
    try {
      await app.listen({ host, port });
    } catch (error) {
      lock?.release();
      await baton.close();
      throw new BatonError("BAD_OPTION", `cannot listen on ${host}:${port}: ${(error as Error).message}`);
    }
    // Listen for the stop signal before saying "listening": a supervisor may send it at once.
    const stopRequested = new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off("SIGTERM", stop);
        process.off("SIGINT", stop);
        resolve();
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    });
    const bound = app.server.address();
    const shownHost = host.includes(":") ? `[${host}]` : host;
    address = `http://${shownHost}:${typeof bound === "object" && bound !== null ? bound.port : port}`;
    lock?.write();
    process.stdout.write(`listening on ${address}\n`);
    process.stderr.write(
      `baton serve: ${baton.store.description}${sqlite !== null && groupCommit ? " (group commit)" : ""}; ` +
        `${tokens.filter((t) => t.revokedAt === null).length} tokens` +
        `${reapEvery === null ? "; reaper off" : `; reaping claims expired > ${flags.reapMinAge ?? "24h"} every ${flags.reapEvery ?? "5m"}`}\n`,
    );
    let reaping = false;
    const reaper =
      reapEvery === null
        ? undefined
        : setInterval(() => {
            if (reaping) return;
            reaping = true;
            baton
              .reap({ minAge: reapMinAge, as: "baton-serve", claims: false })
              .then((r) => {
                if (r.count + r.reapedPaths.length > 0) process.stderr.write(`baton serve: ${r.message}\n`);
              })
              .catch((error: unknown) =>
                process.stderr.write(`baton serve: reap failed: ${(error as Error).message}\n`),
              )
              .finally(() => {
                reaping = false;
              });
          }, reapEvery);
    await stopRequested;
    clearInterval(reaper);
    await app.close();
    lock?.release();
    await baton.close();
  } catch (error) {
    emitError(mode, error);
  }
}

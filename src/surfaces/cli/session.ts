/**
 * Opening the registry for one CLI call: resolve the configuration, open the
 * store (or, with `BATON_URL`/`--url`, an HTTP client of `baton serve`), run the
 * handler, and always close the store (even on error).
 */
import type { HttpBatonApi } from "../../api/http-client.js";
import { type Baton, openBaton } from "../../baton.js";
import { BatonError } from "../../core/errors.js";
import { type CliConfig, resolveConfig } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emitError, type OutputMode } from "./output.js";

export interface Session {
  readonly config: CliConfig;
  readonly mode: OutputMode;
  /**
   * The registry opened here. Through a server (`api` set) reading it is a
   * `REMOTE_UNSUPPORTED` error: a handler that has no server path says so, changing nothing.
   */
  readonly baton: Baton;
  /** The server's API when `BATON_URL`/`--url` is set (the token decides the agent), else null. */
  readonly api: HttpBatonApi | null;
}

/** Resolve config for these flags (flags > env > file > defaults). */
export function configFor(flags: CommonFlags): Promise<CliConfig> {
  return resolveConfig(
    { as: flags.as, db: flags.db, databaseUrl: flags.databaseUrl, url: flags.url, token: flags.token },
    process.env,
    process.cwd(),
  );
}

/** The command words of this call (`task add`), for messages. */
function commandWords(): string {
  const words: string[] = [];
  for (const arg of process.argv.slice(2)) {
    if (arg.startsWith("-") || words.length === 2) break;
    words.push(arg);
  }
  return words.slice(0, /^(task|gate|paths|tokens|hooks|rules|db)$/.test(words[0] ?? "") ? 2 : 1).join(" ");
}

/** The error a command without a server path answers when `BATON_URL` is set. */
export function remoteUnsupported(what = `baton ${commandWords()}`): BatonError {
  return new BatonError(
    "REMOTE_UNSUPPORTED",
    `${what} does not run through a server yet (BATON_URL / --url is set): unset BATON_URL, or pass --db or --database-url to use a registry here`,
  );
}

/** The HTTP client for `config.server` (loaded only then: a local call never loads it or fetch). */
async function serverApi(config: CliConfig): Promise<HttpBatonApi | null> {
  if (config.server === undefined) return null;
  const { HttpBatonApi, nodeHttpTransport } = await import("../../api/http-client.js");
  return new HttpBatonApi({
    transport: nodeHttpTransport,
    url: config.server.url,
    token: config.server.token ?? "",
    ...(config.agent === undefined ? {} : { as: config.agent }),
  });
}

/**
 * Open Baton with the resolved configuration (one PostgreSQL connection per CLI call). With a
 * server configured (BATON_URL) this is `REMOTE_UNSUPPORTED`: a command must not quietly use a
 * registry here when the fleet's is the server's — except `baton serve` itself (`forServer`).
 */
export async function openFromConfig(
  config: CliConfig,
  options: { migrate?: boolean; forServer?: boolean; groupCommit?: boolean; poolSize?: number } = {},
): Promise<Baton> {
  if (config.server !== undefined && options.forServer !== true) throw remoteUnsupported();
  return openBaton({
    ...(config.db === undefined ? {} : { db: config.db }),
    ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl, poolSize: options.poolSize ?? 1 }),
    ...(config.pgSchema === undefined ? {} : { schema: config.pgSchema }),
    ...(config.statementTimeout === undefined || config.databaseUrl === undefined
      ? {}
      : { statementTimeout: config.statementTimeout }),
    ...(options.migrate === undefined ? {} : { migrate: options.migrate }),
    ...(options.groupCommit === undefined ? {} : { groupCommit: options.groupCommit }),
    ...(config.busyTimeout === undefined ? {} : { busyTimeout: config.busyTimeout }),
    ...(config.sqliteSync === undefined ? {} : { synchronous: config.sqliteSync }),
    ...(config.defaultTtl === undefined ? {} : { defaultTtl: config.defaultTtl }),
  });
}

/**
 * Run `fn` with an open Baton. `prepare` runs before the store is opened, so bad
 * input is refused without creating or touching a database.
 */
export async function withSession<P>(
  flags: CommonFlags,
  prepare: (config: CliConfig) => P | Promise<P>,
  fn: (session: Session, prepared: P) => Promise<void>,
): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  let baton: Baton | undefined;
  try {
    const config = await configFor(flags);
    const prepared = await prepare(config);
    const api = await serverApi(config);
    if (api !== null) {
      const session: Session = {
        config,
        mode,
        api,
        get baton(): Baton {
          throw remoteUnsupported();
        },
      };
      await fn(session, prepared);
      return;
    }
    baton = await openFromConfig(config);
    await fn({ config, mode, baton, api: null }, prepared);
  } catch (error) {
    emitError(mode, error);
  } finally {
    await baton?.close();
  }
}

/**
 * Opening the registry for one CLI call: resolve the configuration, open the
 * store, run the handler, and always close the store (even on error).
 */
import { type Baton, openBaton } from "../../baton.js";
import { type CliConfig, resolveConfig } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emitError, type OutputMode } from "./output.js";

export interface Session {
  readonly config: CliConfig;
  readonly mode: OutputMode;
  readonly baton: Baton;
}

/** Resolve config for these flags (flags > env > file > defaults). */
export function configFor(flags: CommonFlags): Promise<CliConfig> {
  return resolveConfig({ as: flags.as, db: flags.db, databaseUrl: flags.databaseUrl }, process.env, process.cwd());
}

/** Open Baton with the resolved configuration (one PostgreSQL connection per CLI call). */
export function openFromConfig(
  config: CliConfig,
  options: { migrate?: boolean; groupCommit?: boolean; poolSize?: number } = {},
): Promise<Baton> {
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
    baton = await openFromConfig(config);
    await fn({ config, mode, baton }, prepared);
  } catch (error) {
    emitError(mode, error);
  } finally {
    await baton?.close();
  }
}

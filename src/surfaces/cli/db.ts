/**
 * `baton db status` and `baton db migrate`: which registry is used and why, and the store's
 * schema for operators who want migrations explicit (SQLite and PostgreSQL alike); `baton db
 * repack`: a SQLite file rewritten with this Baton's page size.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Baton } from "../../baton.js";
import { BatonError } from "../../core/errors.js";
import { durationMs } from "../../core/schemas.js";
import { locateRegistry, type RegistryRule } from "../../workspace/registry-location.js";
import type { SchemaStatus } from "../../store/store.js";
import type { CliConfig } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emit, emitError, emitNo, type OutputMode } from "./output.js";
import { configFor, openFromConfig, remoteUnsupported } from "./session.js";

async function statusOf(baton: Baton): Promise<{ store: string; status: SchemaStatus }> {
  try {
    return { store: baton.store.description, status: await baton.store.schemaStatus() };
  } finally {
    await baton.close();
  }
}

const kib = (bytes: number): string => `${bytes / 1024} KiB`;

function pendingText(status: SchemaStatus): string {
  return status.pending.map((m) => `  ${m.version}: ${m.description}`).join("\n");
}

/** Which registry this call uses, and the rule that chose it. */
export interface RegistryChoice {
  /** `sqlite` or `postgres`. */
  readonly kind: "sqlite" | "postgres";
  /** The SQLite file (absent for PostgreSQL). */
  readonly path?: string;
  /** `flag`, `env`, `file`, or the default location's rule. */
  readonly rule: "flag" | "env" | "file" | RegistryRule;
  readonly reason: string;
  readonly identity?: string;
  /** A registry an older Baton kept in the git dir, no longer used. */
  readonly unused?: string;
}

/** The registry the resolved configuration names, and why; writes nothing. */
export function registryChoice(config: CliConfig, cwd: string, env: NodeJS.ProcessEnv): RegistryChoice {
  const kind = config.databaseUrl === undefined ? "sqlite" : "postgres";
  const path = kind === "sqlite" ? { path: config.db } : {};
  if (config.storeFrom === "flag") {
    return { kind, ...path, rule: "flag", reason: `named by ${kind === "sqlite" ? "--db" : "--database-url"}` };
  }
  if (config.storeFrom === "env") {
    return {
      kind,
      ...path,
      rule: "env",
      reason: `named by ${kind === "sqlite" ? "BATON_DB" : "BATON_DATABASE_URL"} in the environment`,
    };
  }
  if (config.storeFrom === "file") {
    return {
      kind,
      ...path,
      rule: "file",
      reason: `named by ${kind === "sqlite" ? "db" : "databaseUrl"} in ${config.configFile}`,
    };
  }
  const where = locateRegistry(cwd, { env, cache: false });
  // Baton 0.1 kept a repository's registry in its git dir; say so rather than let its claims vanish silently.
  const old =
    where.rule === "repository" && where.gitDir !== undefined ? join(where.gitDir, "baton", "baton.db") : null;
  return {
    kind,
    path: where.path,
    rule: where.rule,
    reason: `${where.reason} (BATON_DB, --db or a config file's db would override it)`,
    ...(where.identity === undefined ? {} : { identity: where.identity }),
    ...(old !== null && existsSync(old) ? { unused: old } : {}),
  };
}

/**
 * Report which registry is used and why, and its schema version; exit 1 when
 * migrations are pending. Never migrates, and creates nothing: a SQLite file that
 * does not exist yet is reported, not opened.
 */
export async function status(flags: CommonFlags): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const config = await configFor(flags);
    // The store itself, here: with a server configured its registry is not this machine's to report.
    if (config.server !== undefined) throw remoteUnsupported();
    const registry = registryChoice(config, process.cwd(), process.env);
    const unused =
      registry.unused === undefined
        ? ""
        : `\n  note: ${registry.unused} is an older registry of this repository, no longer used (point BATON_DB at it to read it)`;
    const why = `registry: ${registry.path ?? "PostgreSQL"}\n  why: ${registry.reason}${unused}`;
    if (registry.path !== undefined && !existsSync(registry.path)) {
      emit(
        mode,
        { ok: true, store: `sqlite:${registry.path}`, exists: false, registry },
        `${why}\nsqlite:${registry.path}: not created yet (the first command that writes creates it)`,
      );
      return;
    }
    const { store, status } = await statusOf(
      await openFromConfig({ ...config, db: registry.path }, { migrate: false }),
    );
    const value = { ok: status.pending.length === 0, store, ...status, exists: true, registry };
    const pages =
      status.pages === undefined || status.pages.size === status.pages.newFiles
        ? ""
        : `\n  note: its pages are ${kib(status.pages.size)}; new files get ${kib(status.pages.newFiles)}, which make commits faster: baton db repack rewrites it (every agent stopped)`;
    if (status.pending.length === 0) {
      emit(mode, value, `${why}\n${store}: schema version ${status.version}, up to date${pages}`);
    } else {
      emitNo(
        mode,
        value,
        `${why}\n${store}: schema version ${status.version}, this Baton writes ${status.supported}; pending:\n${pendingText(status)}\nrun: baton db migrate${pages}`,
      );
    }
  } catch (error) {
    emitError(mode, error);
  }
}

/** Apply pending migrations and report which. */
export async function migrate(flags: CommonFlags): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const config = await configFor(flags);
    const before = await statusOf(await openFromConfig(config, { migrate: false }));
    const after = await statusOf(await openFromConfig(config, { migrate: true }));
    const applied = before.status.pending.filter((m) => m.version <= after.status.version);
    emit(
      mode,
      { ok: true, store: after.store, from: before.status.version, version: after.status.version, applied },
      applied.length === 0
        ? `${after.store}: schema version ${after.status.version}, nothing to migrate`
        : `${after.store}: migrated ${before.status.version} -> ${after.status.version}:\n${pendingText({ ...before.status, pending: applied })}`,
    );
  } catch (error) {
    emitError(mode, error);
  }
}

/**
 * Rewrite the SQLite registry with this Baton's page size (new files get it; older ones keep
 * SQLite's default until repacked). Refused, changing nothing, while anything else has the
 * file open; on PostgreSQL there is nothing to repack.
 */
export async function repack(flags: CommonFlags): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const config = await configFor(flags);
    if (config.server !== undefined) throw remoteUnsupported();
    if (config.databaseUrl !== undefined) {
      throw new BatonError(
        "BAD_OPTION",
        "baton db repack rewrites a SQLite registry file; PostgreSQL manages its own pages, so there is nothing to repack",
      );
    }
    const path = registryChoice(config, process.cwd(), process.env).path as string;
    const { repackSqliteFile } = await import("../../store/sqlite/sqlite-store.js");
    const r = await repackSqliteFile(
      path,
      config.busyTimeout === undefined ? {} : { busyTimeoutMs: durationMs(config.busyTimeout, "busyTimeout", true) },
    );
    const mb = (bytes: number) =>
      bytes < 1_000_000 ? `${Math.round(bytes / 1024)} KiB` : `${(bytes / 1_000_000).toFixed(1)} MB`;
    emit(
      mode,
      { ok: true, store: `sqlite:${path}`, ...r },
      r.rewritten
        ? `sqlite:${path}: rewritten with ${kib(r.pageSizeAfter)} pages (was ${kib(r.pageSizeBefore)}), ${mb(r.bytesBefore)} -> ${mb(r.bytesAfter)}`
        : `sqlite:${path}: already ${kib(r.pageSizeAfter)} pages, nothing to do`,
    );
  } catch (error) {
    emitError(mode, error);
  }
}

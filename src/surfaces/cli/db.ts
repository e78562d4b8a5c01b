/**
 * `baton db status` and `baton db migrate`: the store's schema for operators who
 * want migrations explicit. Both work on SQLite and PostgreSQL alike.
 */
import type { Baton } from "../../baton.js";
import type { SchemaStatus } from "../../store/store.js";
import type { CommonFlags } from "./main.js";
import { emit, emitError, emitNo, type OutputMode } from "./output.js";
import { configFor, openFromConfig } from "./session.js";

async function statusOf(baton: Baton): Promise<{ store: string; status: SchemaStatus }> {
  try {
    return { store: baton.store.description, status: await baton.store.schemaStatus() };
  } finally {
    await baton.close();
  }
}

function pendingText(status: SchemaStatus): string {
  return status.pending.map((m) => `  ${m.version}: ${m.description}`).join("\n");
}

/** Report the schema version; exit 1 when migrations are pending. Never migrates. */
export async function status(flags: CommonFlags): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const config = await configFor(flags);
    const { store, status } = await statusOf(await openFromConfig(config, { migrate: false }));
    const value = { ok: status.pending.length === 0, store, ...status };
    if (status.pending.length === 0) {
      emit(mode, value, `${store}: schema version ${status.version}, up to date`);
    } else {
      emitNo(
        mode,
        value,
        `${store}: schema version ${status.version}, this Baton writes ${status.supported}; pending:\n${pendingText(status)}\nrun: baton db migrate`,
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

/**
 * `baton rules init|show|check` (`baton context` is generated: its entry in operations.ts).
 */
import { rulesVerdict } from "../../services/rules.js";
import { initRules, readRules, rulesPath } from "../../workspace/rules.js";
import type { CommonFlags } from "./main.js";
import { emit, emitError, emitNo, type OutputMode } from "./output.js";
import { configFor } from "./session.js";

async function path(flags: { rulesFile?: string }): Promise<string> {
  const config = await configFor({});
  const file = flags.rulesFile ?? config.rulesFile;
  return rulesPath(file === undefined ? {} : { file });
}

export async function rules(
  action: "init" | "show" | "check",
  flags: CommonFlags & { force?: boolean; rulesFile?: string },
): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const file = await path(flags);
    if (action === "init") {
      const info = initRules(file, flags.force === true);
      emit(
        mode,
        { ok: true, ...info },
        `wrote ${info.path} (version ${info.version}); fill the ${info.emptySlots.length} empty slots with your fleet's own rules`,
      );
      return;
    }
    const info = readRules(file);
    const verdict = rulesVerdict(info, action === "show" ? "present" : "complete");
    if (!verdict.ok && verdict.code === "RULES_MISSING")
      emitNo(mode, { ...verdict, ...info }, `no rules at ${info.path}: run baton rules init`);
    else if (!verdict.ok)
      emitNo(
        mode,
        { ...verdict, ...info },
        `${info.path}: ${info.emptySlots.length} empty slot(s) at line${info.emptySlots.length === 1 ? "" : "s"} ${info.emptySlots.join(", ")}: write your fleet's rules there or delete the lines`,
      );
    else if (action === "show")
      emit(
        mode,
        { ok: true, ...info },
        `${info.text}\n---\n${info.name ?? "rules"}, version ${info.version} (${info.path})`,
      );
    else emit(mode, { ok: true, ...info }, `${info.path}: complete (version ${info.version})`);
  } catch (error) {
    emitError(mode, error);
  }
}

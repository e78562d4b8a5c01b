/**
 * `baton context` and `baton rules init|show|check`.
 */
import { BatonError } from "../../core/errors.js";
import { initRules, readRules, rulesPath } from "../../workspace/rules.js";
import type { CommonFlags } from "./main.js";
import { emit, emitError, emitNo, type OutputMode } from "./output.js";
import { configFor, withSession } from "./session.js";

export function context(flags: CommonFlags & { format?: string; budget?: string; rulesFile?: string }): Promise<void> {
  return withSession(
    flags,
    (config) => {
      const format = flags.format ?? (flags.json === true ? "json" : "md");
      if (format !== "md" && format !== "json")
        throw new BatonError("BAD_OPTION", `invalid --format ${JSON.stringify(format)}: use md or json`);
      const budget = flags.budget === undefined ? undefined : Number(flags.budget);
      if (budget !== undefined && !Number.isInteger(budget))
        throw new BatonError("BAD_OPTION", `invalid --budget ${JSON.stringify(flags.budget)}: a number of characters`);
      return { format, budget, as: config.agent, rulesFile: flags.rulesFile ?? config.rulesFile };
    },
    async (s, p) => {
      if (s.api) {
        // The rules are this checkout's: read here, sent with the call (the server reads no file of ours).
        const path = await rulesPath(p.rulesFile === undefined ? {} : { file: p.rulesFile });
        const r = await s.api.context({
          ...(p.budget === undefined ? {} : { budget: p.budget }),
          rules: { path, text: readRules(path).text },
        });
        if (p.format === "json") process.stdout.write(`${JSON.stringify({ ok: true, ...(r.data as object) })}\n`);
        else process.stdout.write(r.message);
        return;
      }
      const result = await s.baton.context({
        ...(p.as === undefined ? {} : { as: p.as }),
        ...(p.budget === undefined ? {} : { budget: p.budget }),
        ...(p.rulesFile === undefined ? {} : { rulesFile: p.rulesFile }),
      });
      if (p.format === "json") {
        const { markdown: _markdown, ...rest } = result;
        process.stdout.write(`${JSON.stringify({ ok: true, ...rest })}\n`);
      } else process.stdout.write(result.markdown);
    },
  );
}

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
    if (action === "show") {
      if (!info.exists)
        emitNo(mode, { ok: false, code: "RULES_MISSING", ...info }, `no rules at ${info.path}: run baton rules init`);
      else
        emit(
          mode,
          { ok: true, ...info },
          `${info.text}\n---\n${info.name ?? "rules"}, version ${info.version} (${info.path})`,
        );
      return;
    }
    if (!info.exists)
      emitNo(mode, { ok: false, code: "RULES_MISSING", ...info }, `no rules at ${info.path}: run baton rules init`);
    else if (info.emptySlots.length > 0) {
      emitNo(
        mode,
        { ok: false, code: "RULES_INCOMPLETE", ...info },
        `${info.path}: ${info.emptySlots.length} empty slot(s) at line${info.emptySlots.length === 1 ? "" : "s"} ${info.emptySlots.join(", ")}: write your fleet's rules there or delete the lines`,
      );
    } else emit(mode, { ok: true, ...info }, `${info.path}: complete (version ${info.version})`);
  } catch (error) {
    emitError(mode, error);
  }
}

/**
 * `baton sync-check`, `baton probe` and `baton hooks install|uninstall|run`.
 * Thin: flags in, one service call, the answer out.
 */
import { realpathSync } from "node:fs";
import { parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import {
  installHooks,
  postCommit,
  preCommit,
  prepareCommitMsg,
  prePush,
  uninstallHooks,
} from "../../workspace/git-hooks.js";
import { parseHolding } from "../../workspace/guards.js";
import { requireAgent } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emit, emitError, emitNo, type OutputMode } from "./output.js";
import { configFor, withSession } from "./session.js";

function answer(mode: OutputMode, result: { ok: boolean; message: string }): void {
  if (result.ok) emit(mode, result, result.message);
  else emitNo(mode, result, result.message);
}

interface SyncFlags extends CommonFlags {
  remote?: string;
  branch?: string;
  allowDirty?: boolean;
  holding?: string[];
  fetch?: boolean;
}

export function syncCheck(flags: SyncFlags): Promise<void> {
  return withSession(
    flags,
    (config) => {
      const holding = flags.holding ?? [];
      for (const h of holding) parseHolding(h); // bad keys and tokens fail here, before the store opens
      return { holding, as: holding.length > 0 ? requireAgent(config, "sync-check --holding") : config.agent };
    },
    async ({ baton, mode }, p) => {
      const result = await baton.syncCheck({
        ...(flags.remote === undefined ? {} : { remote: flags.remote }),
        ...(flags.branch === undefined ? {} : { branch: flags.branch }),
        allowDirty: flags.allowDirty === true,
        holding: p.holding,
        ...(p.as === undefined ? {} : { as: p.as }),
        fetch: flags.fetch !== false,
      });
      answer(mode, result);
    },
  );
}

interface ProbeFlags extends CommonFlags {
  since?: string;
  fetch?: boolean;
  remote?: string;
}

export function probe(paths: string[], flags: ProbeFlags): Promise<void> {
  return withSession(
    flags,
    (config) => ({
      sinceMs: flags.since === undefined ? undefined : parseDuration(flags.since, { name: "--since" }),
      as: config.agent,
    }),
    async ({ baton, mode }, p) => {
      const result = await baton.probe(paths, {
        ...(p.sinceMs === undefined ? {} : { sinceMs: p.sinceMs }),
        ...(p.as === undefined ? {} : { as: p.as }),
        fetch: flags.fetch === true,
        ...(flags.remote === undefined ? {} : { remote: flags.remote }),
      });
      answer(mode, result);
    },
  );
}

/** How a hook calls this CLI when `baton` is not on PATH: this node and this script, by absolute path. */
export function selfCommand(): string[] {
  const script = process.argv[1];
  if (script === undefined) throw new BatonError("INTERNAL", "cannot tell where the baton CLI is");
  return [process.execPath, realpathSync(script)];
}

export async function hooksInstall(flags: CommonFlags & { releaseOnCommit?: boolean }): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const result = await installHooks(process.cwd(), {
      command: selfCommand(),
      releaseOnCommit: flags.releaseOnCommit === true,
    });
    emit(
      mode,
      { ok: true, ...result },
      `installed Baton's git hooks in ${result.dir}:\n${result.changes.map((c) => `  ${c.hook}: ${c.action === "chained" ? `installed, your existing hook moved to ${c.hook}.baton-chained and run first` : c.action}`).join("\n")}`,
    );
  } catch (error) {
    emitError(mode, error);
  }
}

export async function hooksUninstall(flags: CommonFlags): Promise<void> {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const result = await uninstallHooks(process.cwd());
    emit(
      mode,
      { ok: true, ...result },
      `${result.dir}:\n${result.changes.map((c) => `  ${c.hook}: ${c.action === "absent" ? "no Baton hook" : c.action}`).join("\n")}`,
    );
  } catch (error) {
    emitError(mode, error);
  }
}

/**
 * prepare-commit-msg: add the `Baton-Agent` trailer when an agent is known. It never
 * stops a commit: a failure is one line on stderr.
 */
async function prepareCommitMsgHook(args: string[], flags: CommonFlags): Promise<void> {
  try {
    const config = await configFor(flags);
    const file = args[0];
    if (config.agent === undefined || file === undefined) return;
    await prepareCommitMsg({ cwd: process.cwd(), file, as: config.agent });
  } catch (error) {
    process.stderr.write(
      `baton: commit message not tagged with the agent: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
}

/** What the installed hook scripts call. Without an agent (a human committing), the guards step aside. */
export function hooksRun(
  hook: string,
  args: string[],
  flags: CommonFlags & { releaseOnCommit?: boolean },
): Promise<void> {
  if (hook === "prepare-commit-msg") return prepareCommitMsgHook(args, flags);
  return withSession(
    flags,
    (config) => {
      if (hook !== "pre-commit" && hook !== "post-commit" && hook !== "pre-push") {
        throw new BatonError(
          "BAD_INPUT",
          `unknown hook ${JSON.stringify(hook)}: pre-commit, prepare-commit-msg, pre-push or post-commit`,
        );
      }
      return { as: config.agent };
    },
    async ({ baton, mode, config }, p) => {
      const store = baton.store;
      if (p.as === undefined) {
        if (hook === "pre-commit")
          process.stderr.write("baton: BATON_AGENT is not set; path claims not checked for this commit\n");
        if (hook !== "pre-push") return;
      }
      const guardOff = process.env.BATON_GUARD === "off";
      let result: { ok: boolean; message: string };
      if (hook === "pre-commit") result = await preCommit(store, { as: p.as as string, bypass: guardOff });
      else if (hook === "post-commit") {
        result = await postCommit(store, { as: p.as as string, releaseOnCommit: flags.releaseOnCommit === true });
      } else if (guardOff) result = { ok: true, message: "baton: pre-push guard bypassed (BATON_GUARD=off)" };
      else result = await prePush(store, { remote: args[0] ?? "origin" });
      // Protected paths and write scopes (.baton/config.json), after the claim check.
      if (hook === "pre-commit" && result.ok && !guardOff) {
        const policy = await (await import("./hooks.js")).commitGuard(store, p.as as string, config);
        if (!policy.ok) result = policy;
      }
      if (result.message) process.stderr.write(`${result.message}\n`);
      if (!result.ok) {
        process.exitCode = 1;
        if (mode.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      }
    },
  );
}

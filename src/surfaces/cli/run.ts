/**
 * `baton run KEY -- CMD ARGS…`: claim, run the command while renewing the lease
 * every TTL/3, complete on exit 0 and release otherwise; forward SIGINT, SIGTERM
 * and SIGHUP; exit with the command's code. Denied or done → exit 1, not run.
 * If the lease is lost while the command runs, the command gets SIGTERM.
 * `--release`: recurring work (a deploy, a cron job): the claim is a mutex, released
 * when the command ends, never completed. `--reopen`: run even if the key was
 * completed within the done window (see services/lease.ts `LeaseEnd`). The claim is held by
 * services/lease.ts `holdLease`; the command runs through workspace/child.ts.
 *
 * The command sees BATON_KEY, BATON_TOKEN (the fencing token) and BATON_AGENT.
 */
import { parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import { parseKey } from "../../core/identity.js";
import { parseCommit, parseText } from "../../core/schemas.js";
import { holdLease, leaseEnd } from "../../services/lease.js";
import { type CommandExit, resolveCommand, runCommand } from "../../workspace/child.js";
import { requireAgent } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emitNo } from "./output.js";
import { actionResult, remoteLease, ttlText } from "./remote.js";
import { withSession } from "./session.js";

/** Default lease for `baton run`. */
const RUN_TTL_MS = 10 * 60_000;

interface RunFlags extends CommonFlags {
  ttl?: string;
  result?: string;
  commit?: string;
  release?: boolean;
  reopen?: boolean;
}

export function run(keyInput: string, argv: string[], flags: RunFlags): Promise<void> {
  return withSession(
    flags,
    (config) => {
      const key = parseKey(keyInput);
      const as = requireAgent(config, "run");
      const ttlMs = flags.ttl === undefined ? RUN_TTL_MS : parseDuration(flags.ttl, { name: "--ttl" });
      const [command, ...args] = argv;
      if (command === undefined || command.length === 0) {
        throw new BatonError("BAD_INPUT", "run needs a command after --, e.g. baton run task:42 -- make deploy");
      }
      const end = leaseEnd({ release: flags.release === true, result: flags.result ?? null });
      return {
        key,
        as,
        ttlMs,
        command: resolveCommand(command),
        args,
        result: parseText(flags.result, "--result"),
        commit: parseCommit(flags.commit),
        end,
        reopen: flags.reopen === true,
      };
    },
    async (s, p) => {
      const { mode } = s;
      // Through a server the claim and its lease go through the API; the command still runs here.
      const leases = s.api ? remoteLease(s.api) : s.baton;
      const claimed = s.api
        ? actionResult(await s.api.claim({ key: p.key, ...ttlText(p.ttlMs), reopen: p.reopen }))
        : await s.baton.claim(p.key, { as: p.as, ttl: p.ttlMs, reopen: p.reopen });
      if (!claimed.ok || claimed.claim === null) {
        // Refused as done: say how recurring work is run, so a deploy wrapper is not stuck for a day.
        const done = "code" in claimed && claimed.code === "CLAIM_DONE";
        const hint =
          done && p.end === "complete"
            ? "; recurring work (a deploy, a cron job) runs with baton run --release, or run once more with --reopen"
            : "";
        emitNo(mode, claimed, `${claimed.message}${hint}`);
        return;
      }
      const agent = s.api ? claimed.claim.agent : p.as;
      const log = (line: string): void => {
        if (!mode.json) process.stderr.write(`baton: ${line}\n`);
      };
      log(claimed.message);
      let exit: CommandExit = { code: 127, signal: null };
      const held = await holdLease(
        leases,
        {
          key: p.key,
          agent,
          ttlMs: p.ttlMs,
          end: p.end,
          result: p.result,
          commit: p.commit,
          onLost: (reason) => log(`lost the claim on ${p.key} (${reason.message}); stopping the command`),
        },
        async (signal) => {
          const child = runCommand(p.command, p.args, {
            env: { BATON_KEY: p.key, BATON_TOKEN: String(claimed.claim.token), BATON_AGENT: agent },
          });
          signal.addEventListener("abort", () => child.kill("SIGTERM"), { once: true });
          exit = await child.exited;
          return { value: exit, succeeded: exit.code === 0 };
        },
      );
      const { outcome, result: finished } = held.finished;
      const lost = held.lost !== null;
      const code = exit.code === 0 && (!finished.ok || lost) ? 1 : exit.code;
      const summary = {
        ok: code === 0,
        key: p.key,
        token: claimed.claim.token,
        exitCode: exit.code,
        signal: exit.signal,
        lost,
        outcome,
        message: finished.message,
        ...(exit.error ? { error: exit.error.message } : {}),
      };
      if (mode.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else log(exit.error ? `cannot run the command: ${exit.error.message}; ${finished.message}` : finished.message);
      process.exitCode = code;
    },
  );
}

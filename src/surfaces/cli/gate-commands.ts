/**
 * `baton gate run` and `baton audit-gates` (check, mark, list and forget are generated). The gate
 * logic lives in services/gates.ts (`runGate`: on a registry here, or through a server over
 * remote.ts's `remoteGate`); this file spawns the command (its output passed through and
 * digested) and renders answers.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import { parseText } from "../../core/schemas.js";
import { auditGates, extraPatterns } from "../../workspace/gate-audit.js";
import type { Claim } from "../../core/types.js";
import { contentKey, type EffectOutcome, gateKey, type GateRunOptions, runGate } from "../../services/gates.js";
import { resolveCommand, runCommand } from "../../workspace/child.js";
import { MarkerDir } from "../../workspace/markers.js";
import type { CliConfig } from "./config.js";
import { requireAgent } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emit, emitError, emitNo, type OutputMode } from "./output.js";
import { remoteGate } from "./remote.js";
import { withSession } from "./session.js";

interface GateFlags extends CommonFlags {
  window?: string;
  markerDir?: string;
}

interface GateRunFlags extends GateFlags {
  ttl?: string;
  wait?: string;
  quiet?: boolean;
  strict?: boolean;
  onceOnly?: boolean;
  keyFromContent?: boolean;
  note?: string;
}

function markerDirOf(flags: GateFlags, config: CliConfig): string | undefined {
  const dir = flags.markerDir === undefined ? config.markerDir : resolve(process.cwd(), flags.markerDir);
  if (dir !== undefined) new MarkerDir(dir); // not a folder or unreadable: refused before anything runs
  return dir;
}

function windowOf(flags: GateFlags): number | undefined {
  return flags.window === undefined ? undefined : parseDuration(flags.window, { name: "--window" });
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function run(keyInput: string | undefined, argv: string[], flags: GateRunFlags): Promise<void> {
  return withSession(
    flags,
    async (config) => {
      const as = requireAgent(config, "gate run");
      const [command, ...args] = argv;
      if (command === undefined || command.length === 0) {
        throw new BatonError(
          "BAD_INPUT",
          "gate run needs a command after --, e.g. baton gate run notify:tekla -- ./send-mail.sh",
        );
      }
      const window = windowOf(flags);
      const ttl = flags.ttl === undefined ? undefined : parseDuration(flags.ttl, { name: "--ttl" });
      const wait =
        flags.wait === undefined ? undefined : parseDuration(flags.wait, { name: "--wait", allowZero: true });
      const note = parseText(flags.note, "--note");
      const markerDir = markerDirOf(flags, config);
      const resolved = resolveCommand(command);
      let stdin: Buffer | null = null;
      let key: string;
      if (flags.keyFromContent === true) {
        // The message is what the command says: its arguments and what it reads on stdin.
        stdin = process.stdin.isTTY ? Buffer.alloc(0) : await readStdin();
        key = gateKey(contentKey(`${args.join("\n")}\n${stdin.toString("utf8")}`));
      } else {
        if (keyInput === undefined) throw new BatonError("BAD_KEY", "gate run needs a KEY (or --key-from-content)");
        key = gateKey(keyInput);
      }
      return {
        as,
        key,
        label: keyInput ?? null,
        command: resolved,
        args,
        line: [command, ...args].join(" "),
        window,
        ttl,
        wait,
        note,
        markerDir,
        stdin,
      };
    },
    async (s, p) => {
      const { mode } = s;
      const effect = async ({
        claim,
        signal,
      }: {
        claim: Claim;
        signal: AbortSignal;
      }): Promise<EffectOutcome<number>> => {
        const digest = createHash("sha256");
        const child = runCommand(p.command, p.args, {
          // The lock's agent: through a server, the token's.
          env: { BATON_KEY: p.key, BATON_TOKEN: String(claim.token), BATON_AGENT: claim.agent },
          stdin: p.stdin,
          onStdout: (chunk) => {
            digest.update(chunk);
            if (!mode.json) process.stdout.write(chunk);
          },
        });
        signal.addEventListener("abort", () => child.kill("SIGTERM"), { once: true });
        const exit = await child.exited;
        return { ok: exit.code === 0, value: exit.code, digest: digest.digest("hex") };
      };
      const options: GateRunOptions = {
        as: p.as,
        command: p.line,
        onceOnly: flags.onceOnly === true,
        ...(p.window === undefined ? {} : { window: p.window }),
        ...(p.ttl === undefined ? {} : { ttl: p.ttl }),
        ...(p.wait === undefined ? {} : { wait: p.wait }),
        ...(p.note !== null
          ? { note: p.note }
          : p.label !== null && flags.keyFromContent === true
            ? { note: p.label }
            : {}),
        ...(p.markerDir === undefined ? {} : { markers: new MarkerDir(p.markerDir) }),
      };
      // Through a server every registry step goes through its API; the command and the marker files stay here.
      const result = s.api
        ? await runGate(remoteGate(s.api), p.key, effect, options)
        : await s.baton.gates.run(p.key, effect, options);
      if (result.outcome === "skipped") {
        if (mode.json)
          process.stdout.write(`${JSON.stringify({ ok: flags.strict !== true, key: p.key, ...result })}\n`);
        else if (flags.quiet !== true) process.stderr.write(`${result.message}\n`);
        process.exitCode = flags.strict === true ? 1 : 0;
        return;
      }
      const code = result.value as number;
      if (mode.json)
        process.stdout.write(
          `${JSON.stringify({ ...result, ok: result.ok && code === 0, key: p.key, exitCode: code })}\n`,
        );
      else if (flags.quiet !== true && (!result.ok || code !== 0)) process.stderr.write(`baton: ${result.message}\n`);
      process.exitCode = code !== 0 ? code : result.ok ? 0 : 1;
    },
  );
}

export function audit(paths: string[], flags: CommonFlags & { pattern?: string[] }): void {
  const mode: OutputMode = { json: flags.json === true };
  try {
    const patterns = extraPatterns(flags.pattern ?? []);
    const { findings, filesScanned } = auditGates(paths, { cwd: process.cwd(), patterns });
    const value = { ok: findings.length === 0, filesScanned, findings };
    const text =
      findings.length === 0
        ? `no unwrapped side effects in ${filesScanned} file${filesScanned === 1 ? "" : "s"}`
        : `${findings.map((f) => `${f.file}:${f.line}: ${f.pattern}`).join("\n")}\n${findings.length} side-effect call${findings.length === 1 ? "" : "s"} not wrapped by baton gate (${filesScanned} files scanned)`;
    if (findings.length === 0) emit(mode, value, text);
    else emitNo(mode, value, text);
  } catch (error) {
    emitError(mode, error);
  }
}

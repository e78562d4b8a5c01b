/**
 * Running a command for Baton: `baton run` and `baton gate run` start it, forward the
 * signals a terminal or a supervisor sends, and wait for its exit code. One helper, so
 * every command Baton runs is found, started, signalled and reaped the same way. (Git
 * commands have their own runner, src/workspace/git.ts: their output is parsed.)
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { BatonError } from "../core/errors.js";

/** The signals passed on to the command. */
export const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** Signal numbers, for the shell's exit code of a killed command (128 + n). */
export const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Find `command` the way the shell would (a path, or a name on `PATH`), so a typo is
 * refused before anything is claimed.
 *
 * @throws BatonError `BAD_INPUT` when it is not found or not executable
 */
export function resolveCommand(command: string): string {
  if (command.includes("/")) {
    const path = isAbsolute(command) ? command : resolve(command);
    if (isExecutable(path)) return path;
  } else {
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
      if (dir && isExecutable(join(dir, command))) return join(dir, command);
    }
  }
  throw new BatonError("BAD_INPUT", `cannot run ${JSON.stringify(command)}: not found or not executable`);
}

/** How a command ended: its exit code (128 + the signal's number when killed, 127 when it could not start). */
export interface CommandExit {
  readonly code: number;
  readonly signal: string | null;
  /** Why it could not start. */
  readonly error?: Error;
}

export interface RunCommandOptions {
  /** Variables added to this process's environment. */
  readonly env?: Record<string, string>;
  /** Written to the command's stdin, then closed; default: the command reads this process's stdin. */
  readonly stdin?: Buffer | null;
  /** Receives the command's stdout; default: it writes to this process's stdout. */
  readonly onStdout?: (chunk: Buffer) => void;
}

/** A running command. */
export interface RunningCommand {
  /** Settles once, when the command exits (or could not start). */
  readonly exited: Promise<CommandExit>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Start `command` (resolved, see {@link resolveCommand}) with `args`, no shell. SIGINT,
 * SIGTERM and SIGHUP sent to this process are forwarded to it until it exits.
 */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions = {}): RunningCommand {
  const child = spawn(command, [...args], {
    stdio: [
      options.stdin === undefined || options.stdin === null ? "inherit" : "pipe",
      options.onStdout === undefined ? "inherit" : "pipe",
      "inherit",
    ],
    env: { ...process.env, ...options.env },
  });
  if (options.stdin !== undefined && options.stdin !== null) child.stdin?.end(options.stdin);
  if (options.onStdout !== undefined) child.stdout?.on("data", options.onStdout);
  const handlers = FORWARDED.map((signal) => [signal, () => void child.kill(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const exited = new Promise<CommandExit>((done) => {
    let settled = false;
    const finish = (exit: CommandExit): void => {
      if (settled) return;
      settled = true;
      for (const [signal, handler] of handlers) process.off(signal, handler);
      done(exit);
    };
    child.once("error", (error) => finish({ code: 127, signal: null, error }));
    child.once("exit", (code, signal) => finish({ code: code ?? 128 + (SIGNAL_NUMBERS[signal ?? ""] ?? 0), signal }));
  });
  return { exited, kill: (signal) => void child.kill(signal) };
}

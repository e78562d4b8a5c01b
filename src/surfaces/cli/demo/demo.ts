/**
 * `baton demo`: the convergence of the field reports, reproduced with real
 * processes. N agents walk one backlog in the same order, once with "done" notes
 * only and once with Baton claims on a fresh SQLite file; the table compares the
 * duplicate work.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openBaton } from "../../../baton.js";
import { parseDuration } from "../../../core/duration.js";
import { BatonError } from "../../../core/errors.js";
import { emit, emitError, table } from "../output.js";

interface DemoFlags {
  agents: string;
  tasks: string;
  work: string;
  json?: boolean;
  keep?: boolean;
}

interface PhaseResult {
  readonly runs: number;
  readonly duplicates: number;
  readonly undone: number;
  readonly denials: number;
  readonly wallMs: number;
}

function count(value: string, name: string, max: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new BatonError(
      "BAD_OPTION",
      `invalid ${name} ${JSON.stringify(value)}: expected an integer from 1 to ${max}`,
    );
  }
  return n;
}

function agentScript(): string {
  // demo-agent.js is built beside the CLI bundle, in dist/cli/.
  return join(dirname(fileURLToPath(import.meta.url)), "demo-agent.js");
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

async function phase(
  mode: "none" | "baton",
  dir: string,
  agents: number,
  tasks: number,
  workMs: number,
): Promise<PhaseResult> {
  mkdirSync(join(dir, "notes"), { recursive: true });
  const children = Array.from({ length: agents }, (_, i) =>
    spawn(
      process.execPath,
      [
        agentScript(),
        "--mode",
        mode,
        "--dir",
        dir,
        "--agent",
        `agent-${String(i + 1).padStart(2, "0")}`,
        "--tasks",
        String(tasks),
        "--work",
        String(workMs),
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    ),
  );
  const outputs = children.map(() => "");
  const ready = children.map(
    (child, i) =>
      new Promise<void>((resolve) => {
        child.stdout?.on("data", (chunk: Buffer) => {
          outputs[i] += chunk.toString();
          if (outputs[i]?.includes("ready\n")) resolve();
        });
      }),
  );
  const exits = children.map(exited);
  await Promise.all(ready);
  const started = performance.now();
  for (const child of children) child.stdin?.end("go\n");
  const codes = await Promise.all(exits);
  const wallMs = performance.now() - started;
  if (codes.some((code) => code !== 0)) {
    throw new BatonError("INTERNAL", `a demo agent failed (exit codes ${codes.join(", ")})`);
  }
  const lines = readFileSync(join(dir, "work.log"), "utf8").trim().split("\n").filter(Boolean);
  const done = new Set(lines.map((line) => line.split(" ")[0]));
  const denials = outputs
    .map((text) => JSON.parse(text.slice(text.indexOf("ready\n") + 6).trim()) as { denied: number })
    .reduce((sum, r) => sum + r.denied, 0);
  return { runs: lines.length, duplicates: lines.length - done.size, undone: tasks - done.size, denials, wallMs };
}

export async function demo(flags: DemoFlags): Promise<void> {
  const mode = { json: flags.json === true };
  let root: string | undefined;
  try {
    const agents = count(flags.agents, "--agents", 64);
    const tasks = count(flags.tasks, "--tasks", 10_000);
    const workMs = parseDuration(flags.work, { name: "--work", allowZero: true });
    const base = mkdtempSync(join(tmpdir(), "baton-demo-"));
    root = base;
    if (!mode.json) {
      process.stdout.write(
        `${agents} agent processes walk the same ${tasks}-task backlog in the same order (${workMs} ms of work per task).\n`,
      );
    }
    const without = await phase("none", join(root, "without"), agents, tasks, workMs);
    const withBaton = await phase("baton", join(root, "with"), agents, tasks, workMs);
    // Cross-check the agents' own denial counts with Baton's audit log.
    const baton = await openBaton({ db: join(root, "with", "baton.db") });
    const logged = (await baton.log({ kind: "denied", limit: 100_000 })).length;
    await baton.close();
    const result = {
      ok: withBaton.duplicates === 0 && withBaton.undone === 0,
      agents,
      tasks,
      workMs,
      without,
      with: { ...withBaton, loggedDenials: logged },
    };
    emit(mode, result, () => {
      const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
      return [
        "",
        table(
          ["", "without Baton", "with Baton"],
          [
            ["tasks in the backlog", String(tasks), String(tasks)],
            ["times a task was worked", String(without.runs), String(withBaton.runs)],
            ["duplicate work", String(without.duplicates), String(withBaton.duplicates)],
            ["tasks left undone", String(without.undone), String(withBaton.undone)],
            ["denials (claim refused)", "-", `${withBaton.denials} (audit log: ${logged})`],
            ["wall time", s(without.wallMs), s(withBaton.wallMs)],
          ],
        ),
        "",
        result.ok
          ? `Without Baton, ${without.duplicates} of ${without.runs} task runs were duplicates. With Baton: none; every task done once.`
          : "Baton let a task be worked twice: this is a bug, please report it.",
        `See the audit log: baton log --db ${join(base, "with", "baton.db")}${flags.keep ? "" : " (pass --keep to keep it)"}`,
      ].join("\n");
    });
    if (!result.ok) process.exitCode = 4;
  } catch (error) {
    emitError(mode, error);
  } finally {
    if (root !== undefined && !flags.keep) rmSync(root, { recursive: true, force: true });
  }
}

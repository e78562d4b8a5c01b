/**
 * One agent process of `baton demo`. It waits for "go" on stdin, then walks the
 * whole backlog in the same order as every other agent:
 *
 * - `--mode none`: the fleet's habit without coordination: skip a task whose
 *   "done" note exists, otherwise do it and write the note. Every agent reads the
 *   notes before any has finished, so they converge.
 * - `--mode baton`: claim the task first; work only on a grant, then complete.
 *
 * Doing a task means: wait `--work` ms, then append "TASK AGENT" to work.log.
 * At the end the agent prints one JSON line with its counts.
 */
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openBaton } from "../../../baton.js";

const { values } = parseArgs({
  options: {
    mode: { type: "string" },
    dir: { type: "string" },
    agent: { type: "string" },
    tasks: { type: "string" },
    work: { type: "string" },
  },
});
const dir = values.dir as string;
const agent = values.agent as string;
const tasks = Number(values.tasks);
const workMs = Number(values.work);
const mode = values.mode === "baton" ? "baton" : "none";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const taskKey = (i: number): string => `task:demo-${String(i + 1).padStart(3, "0")}`;

async function waitForGo(): Promise<void> {
  process.stdout.write("ready\n");
  await new Promise<void>((resolve) => {
    process.stdin.on("data", (chunk) => {
      if (chunk.toString().includes("go")) resolve();
    });
  });
  process.stdin.pause();
}

function doWork(key: string): Promise<void> {
  return sleep(workMs).then(() => appendFileSync(join(dir, "work.log"), `${key} ${agent}\n`));
}

async function withoutBaton(): Promise<Record<string, number>> {
  let did = 0;
  let skipped = 0;
  for (let i = 0; i < tasks; i++) {
    const key = taskKey(i);
    const note = join(dir, "notes", key.replace(":", "_"));
    if (existsSync(note)) {
      skipped++;
      continue;
    }
    await doWork(key);
    writeFileSync(note, agent);
    did++;
  }
  return { did, skipped, denied: 0 };
}

async function withBaton(): Promise<Record<string, number>> {
  const baton = await openBaton({ db: join(dir, "baton.db"), busyTimeout: 30_000 });
  let did = 0;
  let denied = 0;
  try {
    for (let i = 0; i < tasks; i++) {
      const key = taskKey(i);
      const claim = await baton.claim(key, { as: agent, ttl: "5m" });
      if (!claim.ok) {
        denied++;
        continue;
      }
      await doWork(key);
      await baton.complete(key, { as: agent, result: "done in the demo" });
      did++;
    }
  } finally {
    await baton.close();
  }
  return { did, skipped: 0, denied };
}

async function main(): Promise<void> {
  await waitForGo();
  const counts = mode === "baton" ? await withBaton() : await withoutBaton();
  process.stdout.write(`${JSON.stringify({ agent, ...counts })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo agent ${agent}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

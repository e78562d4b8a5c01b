/**
 * Path claims under a real race: many processes claim overlapping patterns at once,
 * on SQLite and on PostgreSQL. From the audit log, no two agents ever held
 * overlapping patterns exclusively at the same time.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { patternsOverlap } from "../src/core/paths.js";
import { openBaton } from "../src/index.js";
import { TARGETS } from "./contract/targets.js";
import { LIB, ROOT, runScript, startLine, tempDir } from "./helpers.js";

const WORKER = join(ROOT, "test", "workers", "paths-race-worker.mjs");

async function run(args: string[]): Promise<{ granted: number; conflict: number }> {
  return JSON.parse(await runScript(WORKER, args)) as { granted: number; conflict: number };
}

describe.each(TARGETS)("path claim race on $name", (target) => {
  it("8 processes on overlapping patterns never hold overlapping exclusive claims at once", async () => {
    const repoDir = tempDir();
    execFileSync("git", ["init", "-q"], { cwd: repoDir });
    const options = target.batonOptions();
    // Open once so the schema exists before the race (first-open races are tested elsewhere).
    await (await openBaton(options)).close();
    const start = startLine(8);
    const counts = await start.release(
      Array.from({ length: 8 }, (_, i) =>
        run([pathToFileURL(LIB).href, JSON.stringify(options), `agent-${i}`, repoDir, start.dir, "2500"]),
      ),
    );
    const baton = await openBaton(options);
    try {
      const events = await baton.log({ kind: ["granted", "released"], limit: 100_000 });
      // Each grant holds its pattern from its time until its release (ids order the log).
      interface Hold {
        agent: string;
        pattern: string;
        token: number;
        start: number;
        end: number;
      }
      const open = new Map<string, Hold>();
      const holds: Hold[] = [];
      for (const e of events) {
        const pattern = e.key.slice("path:".length);
        const id = `${e.agent}|${pattern}`;
        if (e.kind === "granted") {
          const hold = {
            agent: e.agent,
            pattern,
            token: e.token as number,
            start: e.id,
            end: Number.POSITIVE_INFINITY,
          };
          open.set(id, hold);
          holds.push(hold);
        } else {
          const hold = open.get(id);
          if (hold) hold.end = e.id;
          open.delete(id);
        }
      }
      let violations = 0;
      for (let i = 0; i < holds.length; i++) {
        for (let j = i + 1; j < holds.length; j++) {
          const a = holds[i] as Hold;
          const b = holds[j] as Hold;
          if (a.agent === b.agent) continue;
          if (a.start < b.end && b.start < a.end && patternsOverlap(a.pattern, b.pattern)) violations++;
        }
      }
      const granted = counts.reduce((s, c) => s + c.granted, 0);
      const conflicts = counts.reduce((s, c) => s + c.conflict, 0);
      console.log(
        `${target.name}: ${granted} grants, ${conflicts} conflicts, ${holds.length} pattern holds, ${violations} violations`,
      );
      expect(granted).toBeGreaterThan(20);
      expect(conflicts).toBeGreaterThan(0);
      expect(violations).toBe(0);
    } finally {
      await baton.close();
    }
  });
});

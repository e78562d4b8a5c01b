// One session of the lifecycle replay: take the next task, complete it with an outcome,
// until nothing is ready. Prints each task id it completed, then `END <tier> <code>`.
// argv: LIB_URL, OPTIONS_JSON, AGENT, START (a start-line folder: start-line.mjs)
import { startLine } from "./start-line.mjs";
const [libUrl, optionsJson, agent, startAt] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const options = JSON.parse(optionsJson);
const baton = await openBaton({ ...options, ...("databaseUrl" in options ? { poolSize: 1 } : {}) });
await startLine(startAt);
const outcomes = ["success", "success", "failure", "noop"];
// Bounded: a store that hands finished work out again must fail the test, not hang it.
for (let i = 0; ; i++) {
  if (i === 200) {
    process.stdout.write("END gave up after 200 tasks\n");
    break;
  }
  const r = await baton.next({ as: agent, ttl: "1h", cwd: "/" });
  if (!r.ok) {
    process.stdout.write(`END ${r.tier} ${r.code}\n`);
    break;
  }
  const done = await baton.complete(`task:${r.task.id}`, {
    as: agent,
    outcome: outcomes[i % outcomes.length],
    result: `done by ${agent}`,
  });
  if (!done.ok) throw new Error(`${agent} could not complete task:${r.task.id}: ${done.message}`);
  process.stdout.write(`${r.task.id}\n`);
}
await baton.close();

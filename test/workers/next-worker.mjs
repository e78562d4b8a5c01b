// Calls next until nothing is ready; prints the task ids it got, one per line.
// argv: LIB_URL, OPTIONS_JSON, AGENT, START (a start-line folder: start-line.mjs)
import { startLine } from "./start-line.mjs";
const [libUrl, optionsJson, agent, startAt] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton({
  ...JSON.parse(optionsJson),
  ...("databaseUrl" in JSON.parse(optionsJson) ? { poolSize: 1 } : {}),
});
await startLine(startAt);
for (;;) {
  const r = await baton.next({ as: agent, ttl: "1h", cwd: "/" });
  if (!r.ok) break;
  process.stdout.write(`${r.task.id}\n`);
}
await baton.close();

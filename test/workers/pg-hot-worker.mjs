// Token-order contention on PostgreSQL: claim a few hot keys with 1 ms TTLs until
// the deadline, on this process's own connection. Prints the number of grants.
// argv: LIB_URL, OPTIONS_JSON, AGENT, KEYS, START (a start-line folder: start-line.mjs), DURATION_MS
import { startLine } from "./start-line.mjs";
const [libUrl, optionsJson, agent, keys, startAt, duration] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton({ ...JSON.parse(optionsJson), poolSize: 1 });
await startLine(startAt);
const deadline = Date.now() + Number(duration);
let grants = 0;
while (Date.now() < deadline) {
  const r = await baton.claim(`hot:${Math.floor(Math.random() * Number(keys))}`, { as: agent, ttl: 1 });
  if (r.outcome === "granted") grants++;
}
await baton.close();
process.stdout.write(String(grants));

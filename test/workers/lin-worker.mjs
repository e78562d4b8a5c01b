// A racing agent for the linearizability test: waits for the start moment, then runs
// OPS random operations (claim, release, complete) on a few hot keys, recording for each
// its invocation and return on the machine's monotonic clock (shared by all processes),
// and prints the history as one JSON line.
// argv: LIB_URL, OPTIONS_JSON, AGENT, OPS, KEYS, START (a start-line folder: start-line.mjs)
import { startLine } from "./start-line.mjs";
const [libUrl, optionsJson, agent, ops, keyCount, startAt] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton(JSON.parse(optionsJson));
const keys = Array.from({ length: Number(keyCount) }, (_, i) => `hot:${i}`);
await startLine(startAt);
const history = [];
const now = () => Number(process.hrtime.bigint() / 1000n); // microseconds
const held = new Set();
const pick = (list) => list[Math.floor(Math.random() * list.length)];
for (let i = 0; i < Number(ops); i++) {
  // Mostly: end a key I hold, or claim one; sometimes end a key I may not hold.
  const roll = Math.random();
  const mine = held.size > 0 && roll < 0.45;
  const key = mine ? pick([...held]) : pick(keys);
  const op = mine || roll < 0.55 ? pick(["release", "complete"]) : "claim";
  const invoke = now();
  let output;
  if (op === "claim") {
    const r = await baton.claim(key, { as: agent, ttl: "10m", reopen: true });
    output = { outcome: r.outcome, holder: r.claim?.agent ?? null, token: r.claim?.token ?? null };
    if (r.ok) held.add(key);
  } else {
    const r = await baton[op](key, { as: agent });
    output = { ok: r.ok, code: r.ok ? null : r.code };
    held.delete(key);
  }
  history.push({ process: agent, op, key, invoke, ret: now(), output });
}
await baton.close();
process.stdout.write(`${JSON.stringify(history)}\n`);

// A racing agent: waits for the start moment, then claims every key (in its own
// shuffled order) for several rounds, printing each grant as a JSON line.
// argv: LIB_URL, OPTIONS_JSON, AGENT, KEYS, ROUNDS, START (a start-line folder: start-line.mjs), BARRIER_DIR, WORKERS
import { startLine } from "./start-line.mjs";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
const [libUrl, optionsJson, agent, keyCount, rounds, startAt, barrierDir, workers] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton(JSON.parse(optionsJson));
const keys = Array.from({ length: Number(keyCount) }, (_, i) => `race:${i}`);
const shuffle = (a) => {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};
await startLine(startAt);
for (let round = 0; round < Number(rounds); round++) {
  // Round 0: long leases, nobody lets go (exactly one grant per key).
  // Later rounds: short leases, some completed, some released, some left to expire.
  const ttl = round === 0 ? "10m" : "30ms";
  for (const key of shuffle([...keys])) {
    const r = await baton.claim(key, { as: agent, ttl, reopen: true });
    if (r.outcome === "granted") {
      process.stdout.write(`${JSON.stringify({ round, key, agent, token: r.claim.token })}\n`);
      if (round > 0) {
        const pick = r.claim.token % 3;
        if (pick === 0) await baton.complete(key, { as: agent });
        else if (pick === 1) await baton.release(key, { as: agent });
      }
    }
  }
  if (round === 0) {
    // Let everyone finish round 0 before the round-0 leases are handed back.
    // Everyone finishes round 0 before any round-0 lease is handed back (a barrier, not a
    // sleep: on a slow machine a fixed wait could let a key be granted twice in round 0).
    writeFileSync(join(barrierDir, agent), "");
    const deadline = Date.now() + 60_000;
    while (readdirSync(barrierDir).length < Number(workers)) {
      if (Date.now() > deadline) throw new Error("barrier: the other workers never finished round 0");
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const key of keys) await baton.release(key, { as: agent });
  }
}
await baton.close();

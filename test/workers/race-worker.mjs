// A racing agent for test/race.test.ts: one OS process, one Baton handle.
//
// argv: LIB_URL OPTIONS_JSON AGENT KEYS SHORT_ROUNDS SHORT_TTL_MS SYNC_DIR WORKERS
//   LIB_URL       file URL of the built library (dist/index.js)
//   OPTIONS_JSON  the openBaton options, e.g. {"db":"/tmp/x/race.db"} or {"databaseUrl":"postgres://…"}
//   SYNC_DIR      a folder the workers use for barriers (one empty file per worker and barrier)
//
// Round 0: a long lease on every key, nobody lets go until every worker has finished
// the round (so each key is granted exactly once in it); then each worker releases
// what it got. Rounds 1..SHORT_ROUNDS: short leases; each grant is completed,
// released or left to expire (chosen by its token). Every round starts at a barrier,
// and the short rounds also wait out the short TTL first, so at each round's start
// every key is free and is granted at least once in the round.
//
// stdout: one JSON line per grant {type:"grant",round,key,agent,token,ttlMs}, then one
// {type:"summary",...} line with this worker's counts. Any unexpected answer exits 1.
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [libUrl, optionsJson, agent, keyCount, shortRounds, shortTtlMs, syncDir, workers] = process.argv.slice(2);
const WORKERS = Number(workers);
const SHORT_TTL_MS = Number(shortTtlMs);
const LONG_TTL = "10m";
const BARRIER_LIMIT_MS = 40_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const fail = (message) => {
  process.stderr.write(`race-worker ${agent}: ${message}\n`);
  process.exit(1);
};

/** Wait until every worker has reached the barrier `name`. */
async function barrier(name) {
  writeFileSync(join(syncDir, `${name}.${agent}`), "");
  const deadline = Date.now() + BARRIER_LIMIT_MS;
  while (readdirSync(syncDir).filter((f) => f.startsWith(`${name}.`)).length < WORKERS) {
    if (Date.now() > deadline) fail(`barrier ${name}: a sibling never arrived`);
    await sleep(2);
  }
}

function shuffle(list) {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const { openBaton } = await import(libUrl);
const baton = await openBaton(JSON.parse(optionsJson));
const keys = Array.from({ length: Number(keyCount) }, (_, i) => `race:${i}`);
const counts = {
  claims: 0,
  granted: 0,
  renewed: 0,
  denied: 0,
  completed: 0,
  completeRefused: 0,
  released: 0,
  releaseRefused: 0,
  leftToExpire: 0,
};

async function claim(key, round, ttl) {
  counts.claims++;
  const r = await baton.claim(key, { as: agent, ttl, reopen: true });
  if (r.outcome === "granted") {
    counts.granted++;
    out({ type: "grant", round, key, agent, token: r.claim.token, ttlMs: typeof ttl === "number" ? ttl : 600_000 });
    return r.claim;
  }
  if (r.outcome === "renewed") {
    // Never expected: every lease of mine has ended before I claim the key again.
    counts.renewed++;
    fail(`renewed ${key} in round ${round}: a lease of mine was still live`);
  }
  if (r.outcome === "denied") {
    counts.denied++;
    if (r.claim.agent === agent) fail(`denied ${key} while I hold it`);
    return null;
  }
  fail(`unexpected claim outcome for ${key}: ${JSON.stringify(r)}`);
}

await barrier("start");

// Round 0: long leases, nobody lets go.
const mine = [];
for (const key of shuffle(keys)) {
  const granted = await claim(key, 0, LONG_TTL);
  if (granted) mine.push(key);
}
await barrier("round0-claimed");
for (const key of mine) {
  const r = await baton.release(key, { as: agent });
  if (!r.ok) fail(`could not release my round-0 lease on ${key}: ${r.code}`);
  counts.released++;
}

for (let round = 1; round <= Number(shortRounds); round++) {
  await barrier(`round${round}`);
  // Every short lease of the last round has ended (completed, released, or expired).
  if (round > 1) await sleep(SHORT_TTL_MS + 50);
  for (const key of shuffle(keys)) {
    const granted = await claim(key, round, SHORT_TTL_MS);
    if (!granted) continue;
    const pick = granted.token % 3;
    if (pick === 0) {
      const r = await baton.complete(key, { as: agent, result: `round ${round}` });
      if (r.ok) counts.completed++;
      else if (r.code === "CLAIM_EXPIRED" || r.code === "NOT_HOLDER") counts.completeRefused++;
      else fail(`complete ${key}: ${r.code}`);
    } else if (pick === 1) {
      const r = await baton.release(key, { as: agent });
      if (r.ok) counts.released++;
      else if (r.code === "NOT_HOLDER") counts.releaseRefused++;
      else fail(`release ${key}: ${r.code}`);
    } else {
      counts.leftToExpire++;
    }
  }
}
await barrier("end");
await baton.close();
out({ type: "summary", agent, ...counts });

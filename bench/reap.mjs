// reap of 100,000 claims expired for over a day (target: under 1 s on both stores), vs a
// reap of 1,000; 1,000 live claims stay untouched beside them.
import { pathToFileURL } from "node:url";
import { fillClaims, fmt, LIB, postgres, table, storeTargets } from "./lib.mjs";

const { openBaton } = await import(pathToFileURL(LIB).href);
const DAY = 86_400_000;

/** `count` claims that expired two days ago and 1,000 live ones. */
function staleAndLive(count) {
  const t0 = Date.now() - 3 * DAY;
  const now = Date.now();
  const row = (key, i, claimedAt, expiresAt) => ({
    key,
    agent: `agent-${i % 100}`,
    token: i + 1,
    state: "active",
    claimedAt,
    expiresAt,
  });
  return [
    ...Array.from({ length: count }, (_, i) => row(`stale:${i}`, i, t0 + i, t0 + DAY + i)),
    ...Array.from({ length: 1000 }, (_, i) => row(`live:${i}`, count + i, now, now + DAY)),
  ];
}

async function timeReap(make, count) {
  const options = make();
  const baton = await openBaton(options);
  await fillClaims(options, staleAndLive(count));
  const start = performance.now();
  const r = await baton.reap({ as: "bench" });
  const ms = performance.now() - start;
  if (r.reaped.length !== count) throw new Error(`reaped ${r.reaped.length}, expected ${count}`);
  await baton.close();
  return ms;
}

export async function run({ quick }) {
  const big = quick ? 20_000 : 100_000;
  const server = await postgres();
  const rows = [];
  try {
    const targets = storeTargets(server.url, "reap", "full");
    for (const [name, make] of targets) {
      const small = await timeReap(make, 1000);
      const large = await timeReap(make, big);
      rows.push([
        `${name}: reap ${fmt(big)} expired claims`,
        fmt(small, 1),
        fmt(large, 0),
        `${(large / small).toFixed(0)}x`,
        large < 1000 ? "met (< 1 s)" : "MISSED (< 1 s)",
      ]);
    }
  } finally {
    await server.stop();
  }
  return {
    name: "reap",
    rows,
    text: table(
      "reap (ms, one call; baseline: a reap of 1,000)",
      ["measure", "1,000 ms", "loaded ms", "ratio", "target"],
      rows,
    ),
  };
}

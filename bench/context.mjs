// baton context with 100,000 claims (1,000 live) and a large audit log, vs an empty registry;
// and a claim with the near-duplicate check against 10,000 live claims in its
// namespace, vs the same claim with the check off. SQLite and PostgreSQL.
import { pathToFileURL } from "node:url";
import { fillClaims, fillEvents, fmt, LIB, median, postgres, table, tempDir, storeTargets } from "./lib.mjs";

const { openBaton } = await import(pathToFileURL(LIB).href);

async function time(fn, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn(i);
    times.push(performance.now() - start);
  }
  return median(times);
}

export async function run({ quick }) {
  const events = quick ? 100_000 : 1_000_000;
  const live = quick ? 2_000 : 10_000;
  const server = await postgres();
  const rows = [];
  try {
    const targets = storeTargets(server.url, "ctx", "normal");
    for (const [name, make] of targets) {
      const emptyOptions = make();
      const empty = await openBaton(emptyOptions);
      const base = await time(() => empty.context({ as: "me", cwd: tempDir() }), 20);
      await empty.close();
      const options = make();
      const baton = await openBaton(options);
      // The old events first, as in any log a store wrote (ids follow time): written after the
      // live claims, two-day-old events would sit at higher ids than this hour's.
      await fillEvents(options, events);
      for (let i = 0; i < 1000; i++) await baton.claim(`task:${i}`, { as: `agent-${i % 50}`, similar: "off" });
      const t0 = Date.now() - 2 * 86_400_000;
      await fillClaims(
        options,
        Array.from({ length: 99_000 }, (_, i) => ({
          key: `done:${i}`,
          agent: `agent-${i % 500}`,
          token: 1_000_000_000 + i,
          state: "completed",
          claimedAt: t0 + i,
          expiresAt: t0 + i + 3_600_000,
          endedAt: t0 + i + 1000,
          result: "ok",
        })),
      );
      const cwd = tempDir();
      const full = await time(() => baton.context({ as: "agent-1", cwd }), 20);
      rows.push([
        `${name}: context, 100,000 claims (1,000 live), ${fmt(events)} events`,
        fmt(base, 1),
        fmt(full, 1),
        `${(full / base).toFixed(1)}x`,
        name === "SQLite" ? (full < 50 ? "met (< 50 ms)" : "MISSED (< 50 ms)") : "",
      ]);
      // Similarity: 10,000 live claims in one namespace, topic keys made of words (numbered
      // keys skip the check in warn mode, so they would measure nothing).
      const word = (n) => {
        let w = "";
        do {
          w += String.fromCharCode(97 + (n % 26));
          n = Math.floor(n / 26);
        } while (n > 0);
        return `${w}x`;
      };
      for (let i = 0; i < live; i++)
        await baton.claim(`topic:${word(i)}-${word(i * 7 + 3)}-notes`, { as: `agent-${i % 50}`, similar: "off" });
      const plain = await time(
        (i) => baton.claim(`topic:plain-${word(i + 50_000)}-draft`, { as: "bench", similar: "off" }),
        30,
      );
      const checked = await time(
        (i) => baton.claim(`topic:checked-${word(i + 90_000)}-draft`, { as: "bench", similar: "warn" }),
        30,
      );
      rows.push([
        `${name}: claim with similarity check, ${fmt(live)} live in namespace`,
        fmt(plain, 1),
        fmt(checked, 1),
        `${(checked / plain).toFixed(1)}x`,
        "",
      ]);
      // Strict mode: the same scan, plus (PostgreSQL) the namespace lock taken in the claim.
      const strict = await time(
        (i) => baton.claim(`topic:strict-${word(i + 130_000)}-draft`, { as: "bench", similar: "strict" }),
        30,
      );
      rows.push([
        `${name}: strict claim (namespace lock + check) vs warn check`,
        fmt(checked, 1),
        fmt(strict, 1),
        `${(strict / checked).toFixed(2)}x`,
        "",
      ]);
      await baton.close();
    }
  } finally {
    await server.stop();
  }
  return {
    name: "context",
    rows,
    text: table(
      "Session context and near-duplicate checks (median ms; baseline: empty registry / check off)",
      ["measure", "baseline ms", "loaded ms", "ratio", "target"],
      rows,
    ),
  };
}

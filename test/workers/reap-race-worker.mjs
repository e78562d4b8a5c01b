// One side of the reap race: `renewer` keeps short leases on every key alive (renewing each,
// claiming it again when it expired or was reaped), `reaper` reaps with no minimum age, both
// until DURATION_MS after they start together (start-line.mjs). Prints how many times it acted.
// argv: LIB_URL, OPTIONS_JSON, ROLE, KEYS, START (a start-line folder: start-line.mjs), DURATION_MS
import { startLine } from "./start-line.mjs";
const [libUrl, optionsJson, role, keyCount, startAt, duration] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton(JSON.parse(optionsJson));
const keys = Array.from({ length: Number(keyCount) }, (_, i) => `reap-race:${i}`);
await startLine(startAt);
const end = Date.now() + Number(duration);
let acted = 0;
while (Date.now() < end) {
  if (role === "reaper") {
    acted += (await baton.reap({ minAge: 0, as: "janitor" })).reaped.length;
    // A breath between reaps: SQLite's busy wait is not fair, and a reaper taking the write lock
    // again at once kept a renewer on a loaded machine from renewing at all (0 renewals in CI).
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));
    continue;
  }
  for (const key of keys) {
    // Leases of three lengths, and a pause of 0-20 ms after each pass (a pass itself takes about
    // a millisecond, or tens while the reaper holds the write lock): short ones (2-10 ms) run out
    // before the next pass and are the reaper's, middle ones (10-100 ms) expire or are renewed
    // just in time, long ones (150-400 ms) outlive any wait for the lock and are renewed. Without
    // the pause a fast store renews every key long before it expires (0 reaped in a CI run);
    // with middle ones alone, a renewer kept waiting for the lock saw every lease run out first
    // (0 renewals in a CI run).
    const band = Math.floor(Math.random() * 3);
    const ttl =
      band === 0
        ? 2 + Math.floor(Math.random() * 8)
        : band === 1
          ? 10 + Math.floor(Math.random() * 90)
          : 150 + Math.floor(Math.random() * 250);
    const renewed = await baton.renew(key, { as: "renewer", ttl });
    if (renewed.ok) acted++;
    else await baton.claim(key, { as: "renewer", ttl, reopen: true, similar: "off" });
  }
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20)));
}
process.stdout.write(`${acted}\n`);
await baton.close();

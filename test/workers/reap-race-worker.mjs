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
    continue;
  }
  for (const key of keys) {
    // Leases of 2-102 ms, and a pause of 0-20 ms after each pass (a pass itself takes about a
    // millisecond): many leases run out between two passes, many are renewed just in time.
    // Without the pause a fast store renews every key long before it expires, and the reaper
    // finds next to nothing to race (0 reaped in a CI run).
    const ttl = 2 + Math.floor(Math.random() * 100);
    const renewed = await baton.renew(key, { as: "renewer", ttl });
    if (renewed.ok) acted++;
    else await baton.claim(key, { as: "renewer", ttl, reopen: true, similar: "off" });
  }
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20)));
}
process.stdout.write(`${acted}\n`);
await baton.close();

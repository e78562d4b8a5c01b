// Hot-key traffic on PostgreSQL while the test terminates backends: claim a random hot
// key; when granted (or renewed: a grant whose answer was lost), complete or release it.
// Prints every acknowledged answer as a JSON line, and the errors met at the end.
// argv: LIB_URL, OPTIONS_JSON, AGENT, KEYS, DURATION_MS
const [libUrl, optionsJson, agent, keyCount, duration] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
// The server may be down at this moment (the restart test): retry the open for a while.
let baton;
for (let attempt = 0; baton === undefined; attempt++) {
  try {
    baton = await openBaton({ ...JSON.parse(optionsJson), poolSize: 1 });
  } catch (error) {
    if (error.code !== "STORE_UNAVAILABLE" || attempt > 200) throw error;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const deadline = Date.now() + Number(duration);
const errors = {};
const ack = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
while (Date.now() < deadline) {
  const key = `hot:${Math.floor(Math.random() * Number(keyCount))}`;
  try {
    const r = await baton.claim(key, { as: agent, ttl: "10m", reopen: true });
    if (r.outcome === "granted") ack({ op: "granted", key, agent, token: r.claim.token });
    if (r.ok) {
      const end = Math.random() < 0.5 ? "complete" : "release";
      const e = await baton[end](key, { as: agent });
      if (e.ok) ack({ op: end, key, agent, token: e.claim.token });
    }
  } catch (error) {
    errors[error.code] = (errors[error.code] ?? 0) + 1;
  }
}
// Let go of anything a lost answer left with me.
for (let k = 0; k < Number(keyCount); k++) await baton.release(`hot:${k}`, { as: agent }).catch(() => undefined);
await baton.close();
ack({ op: "errors", errors });

// One contending agent: claim/complete on a few hot keys until the deadline; prints counts.
import { pathToFileURL } from "node:url";
const [lib, db, agent, keys, until] = process.argv.slice(2);
const { openBaton } = await import(pathToFileURL(lib).href);
const baton = await openBaton({ db });
const counts = { granted: 0, denied: 0, busy: 0, ops: 0 };
const deadline = Number(until);
while (Date.now() < deadline) {
  const key = `hot:${Math.floor(Math.random() * Number(keys))}`;
  try {
    const r = await baton.claim(key, { as: agent, ttl: "1s", reopen: true });
    counts.ops++;
    if (r.ok) {
      counts.granted++;
      await baton.complete(key, { as: agent });
      counts.ops++;
    } else counts.denied++;
  } catch (error) {
    if (error.code === "STORE_BUSY") counts.busy++;
    else throw error;
  }
}
await baton.close();
process.stdout.write(JSON.stringify(counts));

// Calls next in a loop until the deadline; prints how many tasks it took.
const [libUrl, optionsJson, agent, until] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const options = JSON.parse(optionsJson);
const baton = await openBaton({ ...options, ...("databaseUrl" in options ? { poolSize: 1 } : {}) });
let n = 0;
while (Date.now() < Number(until)) {
  const r = await baton.next({ as: agent, ttl: "1h", cwd: "/" });
  if (!r.ok) break;
  n++;
}
await baton.close();
process.stdout.write(String(n));

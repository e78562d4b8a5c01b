// A burst of writes for the watch tests: COUNT claims of distinct keys, one after another,
// as fast as the store takes them (each one event), then exit.
// argv: LIB_URL, OPTIONS_JSON, AGENT, COUNT
const [libUrl, optionsJson, agent, count] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton(JSON.parse(optionsJson));
try {
  for (let i = 0; i < Number(count); i++) await baton.claim(`burst:${agent}:${i}`, { as: agent, ttl: "10m" });
} finally {
  await baton.close();
}

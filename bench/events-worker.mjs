// The writer of bench/events.mjs: COUNT claims, one every GAP_MS on average (jittered, so a
// polling reader's phase is uniform), each acknowledged write printed as {key, t} with t on
// the wall clock in high resolution (performance.timeOrigin + now, comparable across processes).
// argv: LIB_URL, OPTIONS_JSON, COUNT, GAP_MS
const [libUrl, optionsJson, count, gap] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton(JSON.parse(optionsJson));
const wall = () => performance.timeOrigin + performance.now();
for (let i = 0; i < 5; i++) await baton.claim(`warm:${i}`, { as: "writer" });
for (let i = 0; i < Number(count); i++) {
  await new Promise((resolve) => setTimeout(resolve, Number(gap) * (0.5 + Math.random())));
  const key = `lat:${i}`;
  await baton.claim(key, { as: "writer" });
  process.stdout.write(`${JSON.stringify({ key, t: wall() })}\n`);
}
await baton.close();

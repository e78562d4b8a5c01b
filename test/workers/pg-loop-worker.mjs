// Loops claim/complete on PostgreSQL while the test kills its connection; reports
// every error code it met, as JSON. argv: LIB_URL, OPTIONS_JSON, AGENT, DURATION_MS
const [libUrl, optionsJson, agent, duration] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton({ ...JSON.parse(optionsJson), poolSize: 1 });
const deadline = Date.now() + Number(duration);
const errors = [];
let ops = 0;
for (let i = 0; Date.now() < deadline; i++) {
  try {
    const r = await baton.claim(`loop:${i}`, { as: agent });
    if (r.ok) await baton.complete(`loop:${i}`, { as: agent, result: "ok" });
    ops++;
  } catch (error) {
    errors.push({ code: error.code, message: error.message });
  }
}
await baton.close();
process.stdout.write(JSON.stringify({ ops, errors }));

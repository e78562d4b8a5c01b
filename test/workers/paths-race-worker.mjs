// A racing agent for path claims: until the deadline (and 4 grants), claim 1-3 random overlapping
// patterns (exclusive), hold them briefly, release them. Prints counts as JSON.
// argv: LIB_URL, OPTIONS_JSON, AGENT, REPO_DIR, START (a start-line folder: start-line.mjs), DURATION_MS
import { startLine } from "./start-line.mjs";
const [libUrl, optionsJson, agent, repoDir, startAt, duration] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton(JSON.parse(optionsJson));
const FAMILY = [
  "src/",
  "src/a.ts",
  "src/*.ts",
  "src/x/**",
  "src/x/b.ts",
  "lib/",
  "lib/*.js",
  "**/*.md",
  "docs/",
  "docs/a.md",
  "src/{a,b}.ts",
  "test/",
];
const where = { as: agent, cwd: repoDir, repo: "root:race-test" };
await startLine(startAt);
const deadline = Date.now() + Number(duration);
const counts = { granted: 0, conflict: 0 };
// Race until the deadline, and on a slow machine on until this agent has had 4 grants (the
// test checks there was real traffic), never past a hard cap.
const cap = Date.now() + 60_000;
while ((Date.now() < deadline || counts.granted < 4) && Date.now() < cap) {
  const n = 1 + Math.floor(Math.random() * 3);
  const patterns = Array.from({ length: n }, () => FAMILY[Math.floor(Math.random() * FAMILY.length)]);
  const r = await baton.claimPaths(patterns, { ...where, ttl: "20s" });
  if (r.ok) {
    counts.granted++;
    await new Promise((res) => setTimeout(res, 2));
    await baton.releasePaths(null, where);
  } else counts.conflict++;
}
await baton.close();
process.stdout.write(JSON.stringify(counts));

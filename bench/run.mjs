// npm run bench [-- --quick] [name…]: every benchmark, each against a baseline
// measured in the same run; prints Markdown tables and writes bench/results.json.
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const names = args.filter((a) => !a.startsWith("--"));
const all = [
  "throughput",
  "pages",
  "cli",
  "hooks",
  "contention",
  "scale",
  "paths",
  "context",
  "next",
  "reap",
  "mcp",
  "serve",
  "events",
  "instructions",
];
if (args.includes("--help") || args.includes("-h")) {
  console.log(`usage: npm run bench [-- --quick] [name…]\nbenchmarks: ${all.join(", ")} (default: all)`);
  process.exit(0);
}
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(", ")} (benchmarks: ${all.join(", ")})`);
  process.exit(2);
}
const chosen = names.length ? all.filter((n) => names.includes(n)) : all;

console.log(
  `# Baton benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} cores${quick ? " (quick)" : ""}`,
);
const results = [];
for (const name of chosen) {
  const { run } = await import(`./${name}.mjs`);
  const result = await run({ quick });
  console.log(result.text);
  results.push({ name: result.name, rows: result.rows });
}
writeFileSync(
  fileURLToPath(new URL("./results.json", import.meta.url)),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, quick, results }, null, 2)}\n`,
);

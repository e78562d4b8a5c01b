// Writes docs/COMMANDS.md from the operation catalogue and the CLI's table
// (src/surfaces/cli/command-reference.ts). `--check`: exit 1 when the file differs.
// test/cli-operations.test.ts runs the same comparison.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "docs", "COMMANDS.md");
const bundle = join(root, `.commands-doc-${process.pid}.mjs`);
try {
  await build({
    absWorkingDir: root,
    entryPoints: ["./src/surfaces/cli/command-reference.ts"],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    outfile: bundle,
    logLevel: "warning",
  });
  const { commandReference } = await import(pathToFileURL(bundle).href);
  const text = commandReference();
  if (process.argv.includes("--check")) {
    const current = readFileSync(target, "utf8");
    if (current !== text) {
      console.error("docs/COMMANDS.md is out of date: run npm run docs");
      process.exitCode = 1;
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
} finally {
  rmSync(bundle, { force: true });
}

// Builds Baton: the library (dist/index.js + dist/types) and the CLI
// (dist/cli/baton.js, code-split so a command loads only what it needs).
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const skipTypes = process.argv.includes("--no-types");

rmSync(join(root, "dist"), { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
};

const [, cli] = await Promise.all([
  // The library keeps its dependencies external: the user's package manager owns them.
  build({
    ...common,
    entryPoints: { index: "./src/index.ts" },
    outdir: "dist",
    packages: "external",
  }),
  // The CLI is on every agent's hot path: bundle its pure-JS dependencies, split
  // per command, keep only the native addon external.
  build({
    ...common,
    entryPoints: {
      baton: "./src/surfaces/cli/main.ts",
      "demo-agent": "./src/surfaces/cli/demo/demo-agent.ts",
    },
    outdir: "dist/cli",
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    external: ["better-sqlite3"],
    minifySyntax: true,
    define: { BATON_VERSION: JSON.stringify(pkg.version) },
    // Bundled CommonJS (commander) calls require(); give ESM chunks a real one.
    banner: {
      js: '#!/usr/bin/env node\nimport { createRequire as __batonCreateRequire } from "node:module";\nconst require = __batonCreateRequire(import.meta.url);',
    },
    metafile: true,
  }),
]);

if (process.argv.includes("--analyze")) {
  const { analyzeMetafile } = await import("esbuild");
  console.log(await analyzeMetafile(cli.metafile));
}

if (!skipTypes) {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
}

// Builds Baton: the library (dist/index.js + dist/types) and the CLI
// (dist/cli/baton.js, code-split so a command loads only what it needs).
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
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
  // The CLI is on every agent's hot path. One CommonJS file: Node loads it without
  // the ESM loader's per-module work (~10 ms a call here), and modules reached by
  // dynamic import() are only evaluated when a command needs them. The native
  // addon, zod (needed only for a config file), pg and the MCP SDK stay external.
  build({
    ...common,
    format: "cjs",
    entryPoints: {
      baton: "./src/surfaces/cli/main.ts",
      "demo-agent": "./src/surfaces/cli/demo/demo-agent.ts",
    },
    outdir: "dist/cli",
    external: ["better-sqlite3", "zod", "pg", "@modelcontextprotocol/sdk", "fastify", "prom-client"],
    minifySyntax: true,
    define: { BATON_VERSION: JSON.stringify(pkg.version), "import.meta.url": "__batonModuleUrl" },
    banner: {
      js: '#!/usr/bin/env node\nconst __batonModuleUrl = require("node:url").pathToFileURL(__filename).href;',
    },
    metafile: true,
  }),
]);

// dist/cli/*.js are CommonJS inside an ESM package.
writeFileSync(join(root, "dist", "cli", "package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);

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

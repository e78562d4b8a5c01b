// Builds Baton: the library (dist/index.js + dist/types) and the CLI: the
// executable dist/cli/baton.js (src/surfaces/cli/bin.ts), which loads the bundle
// dist/cli/baton-main.js through V8's code cache dist/cli/baton-main.cache.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
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

const requireHere = createRequire(import.meta.url);

/**
 * Node built-ins that a `claim` never calls (commander's subcommand spawner, git,
 * `baton run`, gate digests) are loaded on first use: the bundle sees an object whose
 * properties load the real module when read. child_process pulls in net, streams and
 * dgram; crypto its whole tree.
 */
const lazyBuiltins = {
  name: "lazy-builtins",
  setup(b) {
    b.onResolve({ filter: /^(node:)?(child_process|crypto)$/ }, (args) =>
      args.namespace === "lazy-builtin"
        ? { path: args.path, external: true }
        : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => {
      const keys = Object.keys(requireHere(`node:${args.path}`));
      return {
        loader: "js",
        contents: `let real;
const load = () => (real ??= require("node:${args.path}"));
for (const key of ${JSON.stringify(keys)}) Object.defineProperty(exports, key, { enumerable: true, get: () => load()[key] });`,
      };
    });
  },
};

/**
 * better-sqlite3's JavaScript goes into the CLI bundle, so the code cache covers it
 * and a call skips resolving and compiling its fourteen files. The store loads it
 * with `createRequire(import.meta.url)("better-sqlite3")`; in the CLI build that
 * `createRequire` answers "better-sqlite3" with the bundled copy while the
 * installed package is the version bundled and has its addon where the store passes
 * it (`nativeBinding`): the JavaScript and the addon must come from one release.
 * Anything else falls through to the real `require`.
 */
const sqliteVersion = JSON.parse(readFileSync(join(root, "node_modules/better-sqlite3/package.json"), "utf8")).version;
const bundledSqlite = {
  name: "bundled-better-sqlite3",
  setup(b) {
    b.onResolve({ filter: /^node:module$/ }, (args) =>
      args.importer.startsWith(join(root, "src", "store")) ? { path: "module", namespace: "store-module" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "store-module" }, () => ({
      loader: "js",
      resolveDir: root,
      contents: `import { existsSync, readFileSync } from "node:fs";
import { createRequire as nodeCreateRequire } from "node:module";
import { dirname, join } from "node:path";
function bundledFits(real) {
  try {
    const dir = dirname(real.resolve("better-sqlite3/package.json"));
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version === ${JSON.stringify(sqliteVersion)} &&
      existsSync(join(dir, "build", "Release", "better_sqlite3.node"));
  } catch {
    return false;
  }
}
export function createRequire(url) {
  const real = nodeCreateRequire(url);
  const wrapped = (id) => (id === "better-sqlite3" && bundledFits(real) ? require("better-sqlite3") : real(id));
  wrapped.resolve = real.resolve;
  return wrapped;
}`,
    }));
  },
};

/**
 * Packages that stay outside the bundle but are loaded with require() (their
 * CommonJS builds), also where the source says import(): no ESM loader for one
 * call, and the bundle holds no import(), which bin.ts's vm.Script could not run.
 * zod is read only for a config file; the others only by `baton mcp` and `baton serve`.
 */
const REQUIRED_EXTERNALS = ["zod", "@modelcontextprotocol/sdk", "fastify", "prom-client"];
const requiredExternals = {
  name: "required-externals",
  setup(b) {
    const filter = new RegExp(`^(${REQUIRED_EXTERNALS.map((p) => p.replace(/[/.]/g, "\\$&")).join("|")})(/|$)`);
    b.onResolve({ filter }, (args) =>
      args.namespace === "required-external"
        ? { path: args.path, external: true }
        : { path: args.path, namespace: "required-external" },
    );
    b.onLoad({ filter: /.*/, namespace: "required-external" }, (args) => ({
      loader: "js",
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
    }));
  },
};

const cliBanner = 'const __batonModuleUrl = require("node:url").pathToFileURL(__filename).href;';

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
  // dynamic import() are only evaluated when a command needs them. better-sqlite3's
  // JavaScript is bundled (above); its addon, pg, zod, the MCP SDK, fastify and
  // prom-client stay external (the last four loaded with require()). Nothing may
  // stay behind a real import(): a vm.Script (bin.ts) cannot run one on Node 20
  // without an experimental flag (checked below).
  build({
    ...common,
    format: "cjs",
    entryPoints: {
      "baton-main": "./src/surfaces/cli/main.ts",
      "demo-agent": "./src/surfaces/cli/demo/demo-agent.ts",
    },
    outdir: "dist/cli",
    external: ["bindings", "pg"],
    // Without white space: every call reads the whole file (720 kB -> 520 kB), ~2 ms a call
    // here. Names are kept, so a stack (BATON_DEBUG=1) still says which function; a vm.Script
    // gets no source map.
    minifySyntax: true,
    minifyWhitespace: true,
    define: { BATON_VERSION: JSON.stringify(pkg.version), "import.meta.url": "__batonModuleUrl" },
    banner: { js: cliBanner },
    plugins: [lazyBuiltins, bundledSqlite, requiredExternals],
    metafile: true,
  }),
  // The executable: a few lines that load baton-main.js with the code cache.
  build({
    ...common,
    format: "cjs",
    entryPoints: { baton: "./src/surfaces/cli/bin.ts" },
    outdir: "dist/cli",
    minifySyntax: true,
    banner: { js: "#!/usr/bin/env node" },
  }),
  // The dashboard `baton serve` shows at /: one script and one stylesheet, served from
  // dist/dashboard/ (src/surfaces/http/http-dashboard.ts). Nothing is fetched from elsewhere.
  build({
    ...common,
    platform: "browser",
    format: "iife",
    target: "es2022",
    entryPoints: { app: "./src/surfaces/dashboard/main.ts", "app-css": "./src/surfaces/dashboard/app.css" },
    entryNames: "[name]",
    outdir: "dist/dashboard",
    minify: true,
  }),
]);

writeFileSync(join(root, "dist", "dashboard", "app.css"), readFileSync(join(root, "dist", "dashboard", "app-css.css")));
rmSync(join(root, "dist", "dashboard", "app-css.css"));
copyFileSync(join(root, "src", "surfaces", "dashboard", "index.html"), join(root, "dist", "dashboard", "index.html"));

const mainBundle = readFileSync(join(root, "dist", "cli", "baton-main.js"), "utf8");
if (/\bimport\([^)]/.test(mainBundle))
  throw new Error("dist/cli/baton-main.js has an import() left: bundle or require() what it loads");
// zod stays outside the CLI bundle, required only where a schema is used (baton mcp, baton serve,
// an unusual config file): a CLI call never evaluates it (test/cli-operations.test.ts traces that).
if (/\$ZodType/.test(mainBundle)) throw new Error("dist/cli/baton-main.js inlines zod: keep it external");

// dist/cli/*.js are CommonJS inside an ESM package.
writeFileSync(join(root, "dist", "cli", "package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);

// The code cache: written by the executable when it finds none, at the exit of one
// `claim` (the hot path), so it also holds the functions that call compiled.
const warm = mkdtempSync(join(tmpdir(), "baton-build-"));
try {
  const env = { PATH: process.env.PATH ?? "", BATON_DB: join(warm, "warm.db"), BATON_AGENT: "build" };
  execFileSync(process.execPath, [join(root, "dist", "cli", "baton.js"), "claim", "build:warm-up"], {
    cwd: warm,
    env,
    stdio: "ignore",
  });
  // Then one edit hook call in a scratch repository (the other path on every tool call),
  // refreshing the cache with what it compiled. Without git, the claim-only cache stays.
  try {
    const git = (...args) =>
      execFileSync("git", args, {
        cwd: warm,
        stdio: "ignore",
        env: {
          ...env,
          GIT_AUTHOR_NAME: "b",
          GIT_AUTHOR_EMAIL: "b@b",
          GIT_COMMITTER_NAME: "b",
          GIT_COMMITTER_EMAIL: "b@b",
        },
      });
    git("init", "-q");
    git("commit", "-q", "--allow-empty", "-m", "warm-up");
    const payload = JSON.stringify({
      session_id: "warm-up",
      cwd: warm,
      hook_event_name: "PreToolUse",
      tool_name: "Edit",
      tool_input: { file_path: join(warm, "warm.ts"), old_string: "", new_string: "" },
    });
    execFileSync(process.execPath, [join(root, "dist", "cli", "baton.js"), "hook", "claude", "pre-tool-use"], {
      cwd: warm,
      env: { ...env, XDG_STATE_HOME: join(warm, "state"), BATON_CODE_CACHE_REFRESH: "1" },
      input: payload,
      stdio: ["pipe", "ignore", "ignore"],
    });
  } catch {
    // No git here: the cache covers claim only.
  }
} finally {
  rmSync(warm, { recursive: true, force: true });
}

if (process.argv.includes("--analyze")) {
  const { analyzeMetafile } = await import("esbuild");
  console.log(await analyzeMetafile(cli.metafile));
}

if (!skipTypes) {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  // The dashboard has its own compiler options (the DOM), outside tsconfig.json.
  execFileSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "src/surfaces/dashboard/tsconfig.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}

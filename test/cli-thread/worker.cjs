// One CLI call in a worker thread, for cli() in test/helpers.ts (the parent side is
// test/cli-thread/run.ts; the design is in docs/TESTING.md). The thread is made to look like
// the process `node dist/cli/baton.js ARGS` would be before the CLI bundle is loaded the way
// the executable loads it: the worker's own environment (the Worker `env` option), the
// argv, a working folder (workers cannot chdir), stdout/stderr captured, stdin holding the
// input (empty by default, as spawnSync's pipe), and what else a process would resolve
// against its own folder. When the thread exits (the event loop drained or
// process.exit()), the result goes to the parent through the port and the parent, blocked
// in Atomics.wait, is woken.
"use strict";
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: a worker starts ~5 ms sooner than with ESM */
const { workerData } = require("node:worker_threads");
const { argv, cwd, bin, input, shared, port, bundle, cache } = workerData;
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Readable } = require("node:stream");
const { inspect } = require("node:util");
// The functions before the relative-path wrappers below (the worker's own files are absolute).
const { mkdtempSync, openSync, writeSync, closeSync, readFileSync, rmSync } = fs;
const realFs = { mkdtempSync, openSync, writeSync, closeSync, readFileSync, rmSync };

// stdout and stderr: what the CLI writes, kept whole (as spawnSync with encoding utf8 reads it).
// Until a child process inherits them they are kept in memory; then (see `inherited`) in a file
// each, which the child writes too, so the order of its lines and the CLI's is the order written.
const streams = [
  { chunks: [], fd: undefined, file: undefined },
  { chunks: [], fd: undefined, file: undefined },
];
const [out, err] = streams;
let spool;
function inherited(stream) {
  if (stream.fd === undefined) {
    spool ??= realFs.mkdtempSync(path.join(os.tmpdir(), "baton-cli-thread-"));
    stream.file = path.join(spool, stream === out ? "stdout" : "stderr");
    stream.fd = realFs.openSync(stream.file, "a+");
    realFs.writeSync(stream.fd, Buffer.concat(stream.chunks.splice(0)));
  }
  return stream.fd;
}
const push = (stream, bytes) =>
  stream.fd === undefined ? stream.chunks.push(bytes) : realFs.writeSync(stream.fd, bytes);
function text(stream) {
  if (stream.fd === undefined) return Buffer.concat(stream.chunks).toString("utf8");
  realFs.closeSync(stream.fd);
  return realFs.readFileSync(stream.file, "utf8");
}

let reported = false;
let spawned = 0;
function report(code) {
  if (reported) return;
  reported = true;
  const result = { code: typeof code === "number" ? code : 0, stdout: text(out), stderr: text(err), spawned };
  if (spool !== undefined) realFs.rmSync(spool, { recursive: true, force: true });
  port.postMessage(result);
  const flag = new Int32Array(shared);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

// Last of the exit listeners (the CLI's own, added later, run first): wrap the emit.
const emit = process.emit;
process.emit = function (event, ...rest) {
  const result = emit.call(this, event, ...rest);
  if (event === "exit") report(rest[0] ?? process.exitCode);
  return result;
};
// A process prints an uncaught error on stderr and exits 1; a worker sends it to the parent
// (which is blocked): print it here too. The worker still exits 1 (a monitor changes nothing).
process.on("uncaughtExceptionMonitor", (error) => push(err, Buffer.from(`${inspect(error)}\n`)));

const capture = (stream) =>
  function write(chunk, encoding, callback) {
    const bytes =
      typeof chunk === "string"
        ? Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8")
        : Buffer.from(chunk);
    push(stream, bytes);
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") process.nextTick(done);
    return true;
  };
process.stdout.write = capture(out);
process.stderr.write = capture(err);

// stdin: the input, then its end; fd 0 read directly (`task import -`) reads the same bytes.
const stdinBytes = input === undefined ? Buffer.alloc(0) : Buffer.from(input);
let stdin;
Object.defineProperty(process, "stdin", {
  configurable: true,
  enumerable: true,
  get: () => (stdin ??= Readable.from(stdinBytes.length === 0 ? [] : [stdinBytes], { objectMode: false })),
});

// The working folder: process.cwd() (path.resolve reads it), fs calls with a relative path, and
// child processes started without a cwd (git) all use it, as in a process started there.
process.cwd = () => cwd;
const absolute = (p) => (typeof p === "string" && p !== "" && !path.isAbsolute(p) ? path.resolve(cwd, p) : p);
const TWO_PATHS = new Set(["rename", "copyFile", "link", "cp"]);
/** Each function of `target` (not a class, not behind a getter: those load modules) given a path resolves it. */
function wrapFs(target) {
  for (const name of Object.keys(target)) {
    const real = Object.getOwnPropertyDescriptor(target, name)?.value;
    if (typeof real !== "function" || /^[A-Z]/.test(name)) continue;
    const base = name.replace(/Sync$/, "");
    const wrapped = function (...args) {
      if (base === "symlink") args[1] = absolute(args[1]);
      else {
        args[0] = absolute(args[0]);
        if (TWO_PATHS.has(base)) args[1] = absolute(args[1]);
      }
      return real.apply(this, args);
    };
    Object.assign(wrapped, real); // realpathSync.native and the like
    target[name] = wrapped;
  }
  return target;
}
wrapFs(fs);
// fs.promises (the same object as node:fs/promises) loads a module: wrapped when first read.
const promises = Object.getOwnPropertyDescriptor(fs, "promises");
let wrappedPromises;
Object.defineProperty(fs, "promises", {
  configurable: true,
  enumerable: promises?.enumerable ?? true,
  get: () => (wrappedPromises ??= wrapFs(promises?.get?.call(fs) ?? promises?.value)),
});
const readResolved = fs.readFileSync;
fs.readFileSync = Object.assign(function (file, options) {
  if (file !== 0) return readResolved.apply(this, arguments);
  const encoding = typeof options === "string" ? options : options?.encoding;
  return encoding ? stdinBytes.toString(encoding) : Buffer.from(stdinBytes);
}, readFileSync);

const plain = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
/**
 * The options of `fn(x, args?, options?, ...)` (withArgs) or `fn(x, options?, ...)`: `cwd` when
 * none is given; a stdio entry inherited from this "process" (`"inherit"`, or its fd number) made
 * the capture file (stdout, stderr) or a pipe given the input (stdin, `feed`).
 */
function adjust(args, withArgs) {
  const a = [...args];
  let at = 1;
  if (withArgs) {
    if (a[1] === undefined || a[1] === null) a[1] = [];
    else if (!Array.isArray(a[1])) a.splice(1, 0, []);
    at = 2;
  }
  if (a[at] === undefined || a[at] === null) a[at] = {};
  else if (!plain(a[at])) a.splice(at, 0, {});
  const options = { ...a[at] };
  if (options.cwd === undefined || options.cwd === null) options.cwd = cwd;
  let feed = false;
  if (options.stdio !== undefined) {
    const stdio =
      typeof options.stdio === "string" ? [options.stdio, options.stdio, options.stdio] : [...options.stdio];
    const inherits = (i) => stdio[i] === "inherit" || stdio[i] === i;
    if (inherits(0)) {
      stdio[0] = "pipe";
      feed = true;
    }
    if (inherits(1)) stdio[1] = inherited(out);
    if (inherits(2)) stdio[2] = inherited(err);
    options.stdio = stdio;
    if (feed && options.input === undefined) options.input = stdinBytes; // spawnSync, execFileSync
  }
  a[at] = options;
  return { args: a, feed };
}
/**
 * node:child_process with each way to start a process adjusted (see `adjust`), patched when the
 * bundle first requires it: loading it (net, streams) is not free and most calls never do.
 */
let childProcess;
function patchedChildProcess() {
  if (childProcess !== undefined) return childProcess;
  childProcess = require("node:child_process");
  for (const [name, withArgs] of [
    ["spawn", true],
    ["spawnSync", true],
    ["execFile", true],
    ["execFileSync", true],
    ["fork", true],
    ["exec", false],
    ["execSync", false],
  ]) {
    const real = childProcess[name];
    childProcess[name] = Object.assign(function (...given) {
      spawned++;
      const { args, feed } = adjust(given, withArgs);
      const result = real.apply(this, args);
      if (feed && result?.stdin && typeof result.stdin.end === "function") {
        result.stdin.on("error", () => undefined); // a command that never reads it
        result.stdin.end(stdinBytes);
      }
      return result;
    }, real);
  }
  return childProcess;
}

// The home folder: a process started with HOME set reads that; the thread shares the real one's.
const homedir = os.homedir;
os.homedir = () => process.env.HOME || homedir();

// What a process started as `node BIN ARGS` sees.
process.argv = [process.execPath, bin, ...argv];
process.execArgv = [];

// Load the bundle as src/surfaces/cli/bin.ts does: vm.Script with the code cache.
const { Script } = require("node:vm");
const { createRequire } = require("node:module");
let cachedData;
try {
  cachedData = readFileSync(cache);
} catch {
  cachedData = undefined;
}
const script = new Script(
  `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, "utf8")}\n})`,
  {
    filename: bundle,
    ...(cachedData === undefined ? {} : { cachedData }),
  },
);
const mod = { exports: {} };
const requireHere = createRequire(bundle);
const requireForBundle = Object.assign(
  (id) => (id === "node:child_process" || id === "child_process" ? patchedChildProcess() : requireHere(id)),
  requireHere,
);
script.runInThisContext()(mod.exports, requireForBundle, mod, bundle, path.dirname(bundle));
// As the executable: the name invoked (from argv[1]), the CLI's own top-level catch.
void mod.exports.runProcess();

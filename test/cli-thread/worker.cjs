// CLI calls in a worker thread, for cli() in test/helpers.ts (the parent side is
// test/cli-thread/run.ts; the design is in docs/TESTING.md). Before each call the thread is
// made to look like the process `node dist/cli/baton.js ARGS` would be, then the CLI bundle is
// evaluated afresh the way the executable loads it: the call's environment, argv and working
// folder (workers cannot chdir), stdout/stderr captured, stdin holding the input (empty by
// default, as spawnSync's pipe), and what else a process would resolve against its own folder.
//
// One worker runs call after call while each call leaves it as it found it: the call ends when
// the event loop drains (`beforeExit`, as a process exits then), and the worker takes the next
// call only if the call left nothing behind: no exit listener, no file descriptor, no active
// handle, no `process.exit()` (see `leftovers`). Otherwise the result is sent at the worker's
// exit, as from a fresh worker, and the parent starts a new one. When a result is ready the
// parent, blocked in Atomics.wait, is woken.
"use strict";
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: a worker starts ~5 ms sooner than with ESM */
const { parentPort, workerData } = require("node:worker_threads");
const { bundle, cache } = workerData;
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");
const Module = require("node:module");
const os = require("node:os");
const path = require("node:path");
const { Readable } = require("node:stream");
const { inspect } = require("node:util");
// The functions before the relative-path wrappers below (the worker's own files are absolute).
const { mkdtempSync, openSync, writeSync, closeSync, readFileSync, readdirSync, readlinkSync, rmSync } = fs;
const realFs = { mkdtempSync, openSync, writeSync, closeSync, readFileSync, readdirSync, readlinkSync, rmSync };

/** The call running now: its options (see run.ts) and its output. */
let call;

// stdout and stderr: what the CLI writes, kept whole (as spawnSync with encoding utf8 reads it).
// Until a child process inherits them they are kept in memory; then (see `inherited`) in a file
// each, which the child writes too, so the order of its lines and the CLI's is the order written.
function inherited(stream) {
  if (stream.fd === undefined) {
    call.spool ??= realFs.mkdtempSync(path.join(os.tmpdir(), "baton-cli-thread-"));
    stream.file = path.join(call.spool, stream === call.out ? "stdout" : "stderr");
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

/** The file descriptors open in this process (Linux): a call that leaves one open is not reused after. */
function openFds() {
  try {
    return new Set(realFs.readdirSync("/proc/self/fd"));
  } catch {
    return undefined;
  }
}

function report(code, reusable) {
  const current = call;
  if (current === undefined || current.reported) return;
  current.reported = true;
  const result = {
    code: typeof code === "number" ? code : 0,
    stdout: text(current.out),
    stderr: text(current.err),
    spawned: current.spawned,
    reusable,
  };
  if (current.spool !== undefined) realFs.rmSync(current.spool, { recursive: true, force: true });
  current.port.postMessage(result);
  current.port.close();
  const flag = new Int32Array(current.shared);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

// Last of the exit listeners (the CLI's own, added later, run first): wrap the emit.
const emit = process.emit;
process.emit = function (event, ...rest) {
  const result = emit.call(this, event, ...rest);
  if (event === "exit") report(rest[0] ?? process.exitCode, false);
  return result;
};
// A process prints an uncaught error on stderr and exits 1; a worker sends it to the parent
// (which is blocked): print it here too. The worker still exits 1 (a monitor changes nothing).
process.on("uncaughtExceptionMonitor", (error) => {
  if (call !== undefined) push(call.err, Buffer.from(`${inspect(error)}\n`));
});

const capture = (which) =>
  function write(chunk, encoding, callback) {
    const bytes =
      typeof chunk === "string"
        ? Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8")
        : Buffer.from(chunk);
    if (call !== undefined) push(call[which], bytes);
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") process.nextTick(done);
    return true;
  };
process.stdout.write = capture("out");
process.stderr.write = capture("err");

// stdin: the input, then its end; fd 0 read directly (`task import -`) reads the same bytes.
Object.defineProperty(process, "stdin", {
  configurable: true,
  enumerable: true,
  get: () =>
    (call.stdin ??= Readable.from(call.stdinBytes.length === 0 ? [] : [call.stdinBytes], { objectMode: false })),
});

// The working folder: process.cwd() (path.resolve reads it), fs calls with a relative path, and
// child processes started without a cwd (git) all use it, as in a process started there.
process.cwd = () => call.cwd;
const absolute = (p) => (typeof p === "string" && p !== "" && !path.isAbsolute(p) ? path.resolve(call.cwd, p) : p);
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
  return encoding ? call.stdinBytes.toString(encoding) : Buffer.from(call.stdinBytes);
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
  if (options.cwd === undefined || options.cwd === null) options.cwd = call.cwd;
  let feed = false;
  if (options.stdio !== undefined) {
    const stdio =
      typeof options.stdio === "string" ? [options.stdio, options.stdio, options.stdio] : [...options.stdio];
    const inherits = (i) => stdio[i] === "inherit" || stdio[i] === i;
    if (inherits(0)) {
      stdio[0] = "pipe";
      feed = true;
    }
    if (inherits(1)) stdio[1] = inherited(call.out);
    if (inherits(2)) stdio[2] = inherited(call.err);
    options.stdio = stdio;
    if (feed && options.input === undefined) options.input = call.stdinBytes; // spawnSync, execFileSync
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
      call.spawned++;
      const { args, feed } = adjust(given, withArgs);
      const result = real.apply(this, args);
      if (feed && result?.stdin && typeof result.stdin.end === "function") {
        result.stdin.on("error", () => undefined); // a command that never reads it
        result.stdin.end(call.stdinBytes);
      }
      return result;
    }, real);
  }
  return childProcess;
}

// The home folder: a process started with HOME set reads that; the thread shares the real one's.
const homedir = os.homedir;
os.homedir = () => process.env.HOME || homedir();

// The bundle, compiled once (with the code cache, as src/surfaces/cli/bin.ts loads it) and
// evaluated afresh for each call: no module state of the CLI is carried from one call to the next.
const { Script } = require("node:vm");
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
const requireHere = Module.createRequire(bundle);
const requireForBundle = Object.assign(
  (id) => (id === "node:child_process" || id === "child_process" ? patchedChildProcess() : requireHere(id)),
  requireHere,
);

/** What the process and its streams listen to before a call: a call's own listeners go with it. */
const EMITTERS = [process, process.stdout, process.stderr];
const listening = () => EMITTERS.map((emitter) => new Map(emitter.eventNames().map((e) => [e, emitter.listeners(e)])));

/**
 * Why this worker cannot take another call after the one that just drained (undefined: it can):
 * what a process would have dropped at its exit and a thread would keep.
 */
function leftovers(current) {
  if (process.listenerCount("exit") > (current.listeners[0].get("exit")?.length ?? 0)) return "an exit listener";
  if (process.listenerCount("beforeExit") > 1) return "a beforeExit listener";
  if (process.getActiveResourcesInfo().length > 0) return "an active handle";
  const fds = openFds();
  if (fds === undefined || current.fds === undefined) return "no /proc/self/fd";
  const spooled = new Set([current.out.fd, current.err.fd].filter((fd) => fd !== undefined).map(String));
  for (const fd of fds) {
    if (current.fds.has(fd) || spooled.has(fd)) continue;
    // Node opens /dev/null once, for the first child process given `ignore`, and keeps it.
    let target;
    try {
      target = realFs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed since the listing (the listing's own descriptor)
    }
    if (target !== "/dev/null") return `file descriptor ${fd} (${target})`;
  }
  return undefined;
}

/** Put back what a call changed in the process, for the next call. */
function restore(current) {
  EMITTERS.forEach((emitter, i) => {
    const before = current.listeners[i];
    for (const event of emitter.eventNames()) {
      const kept = before.get(event) ?? [];
      for (const listener of emitter.listeners(event))
        if (!kept.includes(listener)) emitter.removeListener(event, listener);
    }
  });
  // Keep-alive sockets of the global agents (the CLI's HTTP client), which a process's exit closes.
  http.globalAgent.destroy();
  https.globalAgent.destroy();
  process.exitCode = undefined;
}

process.on("beforeExit", () => {
  const current = call;
  if (current === undefined || current.reported) return;
  const why = leftovers(current);
  if (why !== undefined) return; // the worker exits now: the result goes at the exit (report above)
  const code = process.exitCode;
  restore(current);
  report(code, true);
  call = undefined;
  parentPort.ref(); // wait for the next call
});

parentPort.on("message", (message) => {
  parentPort.unref(); // the call ends when nothing else is left to run
  // A fresh set of the packages the bundle requires (zod, pg, …): their module state is the call's.
  for (const id of Object.keys(Module._cache)) if (!id.endsWith(".node")) delete Module._cache[id];
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, message.env);
  call = {
    ...message,
    stdinBytes: message.input === undefined ? Buffer.alloc(0) : Buffer.from(message.input),
    stdin: undefined,
    out: { chunks: [], fd: undefined, file: undefined },
    err: { chunks: [], fd: undefined, file: undefined },
    spool: undefined,
    spawned: 0,
    reported: false,
    listeners: listening(),
    fds: openFds(),
  };
  // What a process started as `node BIN ARGS` sees.
  process.argv = [process.execPath, message.bin, ...message.argv];
  process.execArgv = [];
  process.exitCode = undefined;
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, requireForBundle, mod, bundle, path.dirname(bundle));
  // As the executable: the name invoked (from argv[1]), the CLI's own top-level catch.
  void mod.exports.runProcess();
});

/**
 * The `baton` (and `coordination`) executable, built alone into dist/cli/baton.js.
 *
 * Every agent pays for every call, and on Node 20 the largest single cost of a
 * call after Node's own start was V8 compiling the 400 kB CLI bundle. So this
 * file loads the bundle (dist/cli/baton-main.js, built from main.ts) through a
 * `vm.Script` with V8's code cache (dist/cli/baton-main.cache, written by the
 * build after one warm-up `claim`): V8 then deserializes the compiled code
 * instead of parsing and compiling it. When the cache is missing or V8 rejects it
 * (another Node version, other V8 flags), the bundle is compiled as usual and a
 * fresh cache is written when the process exits, if the folder is writable
 * (temporary file + rename, so concurrent calls never read half a file).
 *
 * The bundle holds no `import()` (the build checks): Node 20 runs one in a
 * vm.Script only behind an experimental flag. Built as CommonJS only
 * (scripts/build.mjs): `__dirname` is the module's own.
 */
import { accessSync, constants as fsConstants, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Script } from "node:vm";

type MainModule = typeof import("./main.js");

const bundle = join(__dirname, "baton-main.js");
const cacheFile = join(__dirname, "baton-main.cache");

function readCache(): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

function writeCache(script: Script): void {
  try {
    accessSync(__dirname, fsConstants.W_OK);
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cacheFile);
  } catch {
    // A read-only install only loses the speed-up.
  }
}

type Listener = (...args: unknown[]) => void;

/**
 * `process.stdout` / `process.stderr` as an object whose `write` is one write(2) on the
 * descriptor. A call prints one answer, and the stream Node builds on first access (for a
 * pipe or a file) loads some twenty stream modules, about 10% of a `claim`'s CPU. Any other
 * use (a property, `pipe`, a write(2) that fails or would block) replaces it with Node's own
 * stream, which writes what is left: errors (EPIPE) and a full pipe go as Node handles them.
 * `on`/`once` before that are kept and moved onto the real stream.
 */
function directStdio(name: "stdout" | "stderr", fd: number): void {
  const own = Object.getOwnPropertyDescriptor(process, name);
  const getter = own?.get;
  if (getter === undefined || own?.configurable !== true) return;
  let real: NodeJS.WriteStream | undefined;
  const early: [string, Listener, boolean][] = [];
  const stream = (): NodeJS.WriteStream => {
    if (real === undefined) {
      Object.defineProperty(process, name, own);
      real = getter.call(process) as NodeJS.WriteStream;
      for (const [event, listener, once] of early.splice(0)) real[once ? "once" : "on"](event, listener);
    }
    return real;
  };
  const write = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    if (real !== undefined || (typeof chunk !== "string" && !(chunk instanceof Uint8Array))) {
      return (stream().write as (...args: unknown[]) => boolean)(chunk, encoding, callback);
    }
    const done = typeof encoding === "function" ? encoding : callback;
    let bytes =
      typeof chunk === "string"
        ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
        : chunk;
    try {
      while (bytes.length > 0) bytes = bytes.subarray(writeSync(fd, bytes));
    } catch {
      return stream().write(bytes, done as (error?: Error | null) => void);
    }
    if (typeof done === "function") process.nextTick(done as () => void);
    return true;
  };
  const direct: object = new Proxy(Object.create(null) as object, {
    get(_, key) {
      if (key === "write") return write;
      if ((key === "on" || key === "once") && real === undefined) {
        return (event: string, listener: Listener) => {
          early.push([event, listener, key === "once"]);
          return direct;
        };
      }
      const target = stream();
      const value: unknown = Reflect.get(target, key);
      return typeof value === "function" ? (value as Listener).bind(target) : value;
    },
    set: (_, key, value) => Reflect.set(stream(), key, value),
    has: (_, key) => Reflect.has(stream(), key),
  });
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: own.enumerable === true,
    get: () => real ?? direct,
  });
}

function load(): MainModule {
  const source = readFileSync(bundle, "utf8");
  const cachedData = readCache();
  // The same wrapper Node puts around a CommonJS file, so the bundle runs as one.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  // Written at exit, so the cache also holds the functions this call compiled lazily. The
  // build refreshes an accepted cache once more after a harness hook call
  // (BATON_CODE_CACHE_REFRESH=1), so it covers the hook path as well as claim.
  if (script.cachedDataRejected !== false || process.env.BATON_CODE_CACHE_REFRESH === "1") {
    process.once("exit", () => writeCache(script));
  }
  const module = { exports: {} as MainModule };
  (script.runInThisContext() as (...args: unknown[]) => void)(
    module.exports,
    createRequire(bundle),
    module,
    bundle,
    __dirname,
  );
  return module.exports;
}

directStdio("stdout", 1);
directStdio("stderr", 2);
void load().runProcess();

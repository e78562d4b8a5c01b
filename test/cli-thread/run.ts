/**
 * The CLI run in a worker thread of the test's process, synchronously: the parent side of
 * test/cli-thread/worker.cjs, used by cli() in test/helpers.ts (design and what differs from a
 * process: docs/TESTING.md).
 *
 * A CLI call as a process costs ~110-160 ms of CPU here, mostly Node starting; a fresh worker
 * thread running the same bundle (dist/cli/baton-main.js through its code cache, as the
 * executable loads it) under half, ~35 ms of it starting the worker. So a worker runs call after
 * call, the bundle evaluated afresh for each, as long as a call leaves nothing behind that a
 * process's exit would have dropped (worker.cjs says what it checks); otherwise its result comes
 * at the worker's exit and the next call gets a new worker, started as soon as the old one is
 * done with, so its start overlaps the test's own work. The test thread blocks in
 * `Atomics.wait` until the worker stores and notifies, so nothing of the test's own event loop
 * runs meanwhile: a call that needs this thread (a server running in the test) cannot finish,
 * and the wait gives up after {@link THREAD_TIMEOUT_MS} with an error saying so instead of hanging.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const WORKER = join(HERE, "worker.cjs");
const BUNDLE = join(HERE, "..", "..", "dist", "cli", "baton-main.js");
const CACHE = join(HERE, "..", "..", "dist", "cli", "baton-main.cache");

/** How long one call may block the test thread: the test timeout (vitest.config.ts). */
export const THREAD_TIMEOUT_MS = 60_000;

/** What a call returns: as spawnSync with `encoding: "utf8"` gives it. */
export interface ThreadResult {
  code: number;
  stdout: string;
  stderr: string;
}

let calls = 0;
let spawned = 0;
let started = 0;
/** How many CLI calls ran in a thread in this process so far (test/setup/profile.ts reports it). */
export const threadCalls = (): number => calls;
/** How many processes those calls started (git, a `baton run` command). */
export const threadSpawns = (): number => spawned;
/** How many worker threads those calls used (a worker runs calls until one leaves something behind). */
export const threadWorkers = (): number => started;

/** A worker that has taken no call yet or finished its last one cleanly: the next call's. */
let idle: Worker | undefined;

function startWorker(): Worker {
  started++;
  const worker = new Worker(WORKER, {
    workerData: { bundle: BUNDLE, cache: CACHE },
    // Each call brings its own environment (worker.cjs sets process.env to it).
    env: {},
    // Not vitest's flags (--conditions development would change what require() resolves).
    execArgv: [],
    // Whatever escapes the capture stays out of the test's output.
    stdout: true,
    stderr: true,
  });
  // An uncaught error of the CLI is in the captured stderr already (the worker prints it): the
  // event the Worker emits for it here later must not become an error of the test run.
  worker.on("error", () => undefined);
  worker.unref();
  return worker;
}

/**
 * Run `node BIN ARGS` in a worker thread: `env` is its whole environment, `cwd` its working
 * folder, `bin` what `process.argv[1]` names (the `coordination` link gives that name).
 */
export function cliInThread(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; bin: string; input?: string; timeoutMs?: number },
): ThreadResult {
  calls++;
  const worker = idle ?? startWorker();
  idle = undefined;
  const shared = new SharedArrayBuffer(4);
  const flag = new Int32Array(shared);
  const { port1, port2 } = new MessageChannel();
  worker.postMessage(
    {
      argv: [...args],
      env: { ...options.env },
      cwd: options.cwd,
      bin: options.bin,
      input: options.input,
      shared,
      port: port2,
    },
    [port2],
  );
  try {
    const timeoutMs = options.timeoutMs ?? THREAD_TIMEOUT_MS;
    const waited = Atomics.wait(flag, 0, 0, timeoutMs);
    const message = receiveMessageOnPort(port1)?.message as
      (ThreadResult & { spawned: number; reusable: boolean }) | undefined;
    if (message === undefined) {
      void worker.terminate();
      throw new Error(
        waited === "timed-out"
          ? `baton ${args.join(" ")}: no exit within ${timeoutMs} ms in a worker thread. A call that needs ` +
              `this test's own thread (a server it runs) cannot finish while the thread waits (nor while ` +
              `spawnSync does): await a process instead, cliAsync(args)`
          : `baton ${args.join(" ")}: the worker thread ended without a result`,
      );
    }
    spawned += message.spawned;
    // A worker done with (it is exiting): the next call's starts now, beside the test's own work.
    idle = message.reusable ? worker : startWorker();
    return { code: message.code, stdout: message.stdout, stderr: message.stderr };
  } finally {
    port1.close();
  }
}

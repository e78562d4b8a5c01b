// The start of a race between worker processes (see startLine() in test/helpers.ts):
// `await startLine(arg)` marks this process ready in the folder `arg`, then returns when
// the test writes `go` there — once every sibling is ready, however long they took to
// start. A number instead of a folder is a start time (ms since the epoch) to wait for.
import { existsSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";

const LIMIT_MS = 120_000;

export async function startLine(arg) {
  if (/^\d+$/.test(arg)) {
    const wait = Number(arg) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return;
  }
  const go = join(arg, "go");
  // Watched before the mark is written, so the go that follows the last mark is never missed.
  await new Promise((resolve) => {
    const done = () => {
      if (!existsSync(go)) return;
      watcher.close();
      clearInterval(poll);
      resolve();
    };
    const watcher = watch(arg, done);
    // A second, slow check in case a file system's watch misses the event.
    const poll = setInterval(() => {
      if (Date.now() - started > LIMIT_MS) {
        process.stderr.write(`start line ${arg}: no go after ${LIMIT_MS} ms\n`);
        process.exit(1);
      }
      done();
    }, 50);
    const started = Date.now();
    writeFileSync(join(arg, `ready.${process.pid}`), "");
    done();
  });
}

// Contention: N OS processes on the same 16 keys of one SQLite file, vs 1 process alone.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, LIB, table, tempDir } from "./lib.mjs";

const WORKER = fileURLToPath(new URL("./contention-worker.mjs", import.meta.url));

function runWorkers(n, ms) {
  const db = join(tempDir(), "contention.db");
  const until = Date.now() + 1500 + ms; // time for every process to start and open
  const start = Date.now() + 1500;
  return Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [WORKER, LIB, db, `agent-${i}`, "16", String(until)], {
            stdio: ["ignore", "pipe", "inherit"],
          });
          let out = "";
          child.stdout.on("data", (c) => (out += c));
          child.on("close", (code) =>
            code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exited ${code}`)),
          );
        }),
    ),
  ).then((all) => {
    const sum = (k) => all.reduce((a, c) => a + c[k], 0);
    // Workers start at different moments; the window is the same deadline for all.
    const seconds = (until - start) / 1000;
    return {
      granted: sum("granted") / seconds,
      denied: sum("denied") / seconds,
      ops: sum("ops") / seconds,
      busy: sum("busy"),
    };
  });
}

export async function run({ quick }) {
  const ms = quick ? 2000 : 4000;
  const one = await runWorkers(1, ms);
  const eight = await runWorkers(8, ms);
  const rows = [
    ["1 process", fmt(one.granted), fmt(one.denied), fmt(one.ops), String(one.busy), "1.00x"],
    [
      "8 processes",
      fmt(eight.granted),
      fmt(eight.denied),
      fmt(eight.ops),
      String(eight.busy),
      `${(eight.ops / one.ops).toFixed(2)}x`,
    ],
  ];
  return {
    name: "contention",
    rows,
    text: table(
      `Contention on SQLite: processes claiming/completing 16 hot keys for ${ms / 1000} s (synchronous=FULL)`,
      ["agents", "grants/s", "denials/s", "ops/s", "STORE_BUSY", "ops vs 1 process"],
      rows,
    ),
  };
}

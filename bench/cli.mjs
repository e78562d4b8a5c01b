// One CLI call vs the floor (`node -e 0`), median of interleaved runs. The CLI loads
// its bundle through V8's code cache (src/surfaces/cli/bin.ts): the file the build
// writes is what every call uses, so the bench measures the installed state.
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { CLI, fmt, median, startServe, table, tempDir, timeProcess } from "./lib.mjs";

export async function run({ quick }) {
  const runs = quick ? 20 : 40;
  const dir = tempDir();
  const env = { ...process.env, BATON_DB: join(dir, "cli.db"), BATON_AGENT: "bench" };
  for (const key of Object.keys(env))
    if (key.startsWith("BATON_") && !["BATON_DB", "BATON_AGENT"].includes(key)) delete env[key];
  timeProcess([CLI, "claim", "warmup"], env); // creates the file: every measured call finds it
  // The same claim through a server (BATON_URL): the CLI process, plus one HTTP call.
  const servedDb = join(dir, "served.db");
  const token = JSON.parse(
    execFileSync(process.execPath, [CLI, "tokens", "add", "bench", "--json"], { env: { ...env, BATON_DB: servedDb } }),
  ).token;
  const server = await startServe({ ...env, BATON_DB: servedDb });
  const remoteEnv = { ...env, BATON_URL: server.url, BATON_TOKEN: token };
  delete remoteEnv.BATON_DB;
  timeProcess([CLI, "claim", "warmup"], remoteEnv);
  const floor = [];
  const claim = [];
  const show = [];
  const remote = [];
  try {
    for (let i = 0; i < runs; i++) {
      floor.push(timeProcess(["-e", "0"], env));
      claim.push(timeProcess([CLI, "claim", `fresh:${i}`], env));
      show.push(timeProcess([CLI, "show", `fresh:${i}`], env));
      remote.push(timeProcess([CLI, "claim", `fresh:${i}`], remoteEnv));
    }
  } finally {
    await server.stop();
  }
  const f = median(floor);
  const rows = [
    ["node -e 0 (floor)", fmt(f, 1), "1.00x", ""],
    [
      "baton claim <fresh key>",
      fmt(median(claim), 1),
      `${(median(claim) / f).toFixed(2)}x`,
      median(claim) / f <= 1.3 ? "met" : "MISSED",
    ],
    ["baton show <key>", fmt(median(show), 1), `${(median(show) / f).toFixed(2)}x`, ""],
    ["baton claim <fresh key> via BATON_URL", fmt(median(remote), 1), `${(median(remote) / f).toFixed(2)}x`, ""],
  ];
  return {
    name: "cli",
    rows,
    text: table(
      `One CLI call, median of ${runs} interleaved runs (target: claim <= 1.3x the floor)`,
      ["command", "median ms", "vs floor", "target"],
      rows,
    ),
  };
}

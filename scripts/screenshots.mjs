// Writes the README's dashboard pictures from a real page: seeds a demo fleet in a temp
// SQLite file with the library (dist/), starts `baton serve` (dist/cli/baton.js) on it,
// and photographs http://127.0.0.1:PORT/ in Debian's chromium at 1280 and 390 px wide.
//   npm run screenshots          (builds first)
//   BATON_CHROMIUM=/path/to/chromium node scripts/screenshots.mjs
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const executablePath = process.env.BATON_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(executablePath)) {
  console.error(`screenshots: no chromium at ${executablePath}: apt-get install chromium, or set BATON_CHROMIUM`);
  process.exit(1);
}
const { openBaton } = await import(join(root, "dist", "index.js"));
const work = mkdtempSync(join(tmpdir(), "baton-shots-"));
const db = join(work, "baton.db");
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BATON_"))),
  BATON_DB: db,
  XDG_STATE_HOME: join(work, "state"),
};
const cli = (...args) =>
  execFileSync(process.execPath, [join(root, "dist", "cli", "baton.js"), ...args], {
    env,
    cwd: work,
    encoding: "utf8",
  });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let server;
let browser;
try {
  // A repository for path claims.
  const repo = join(work, "api");
  mkdirSync(repo);
  const git = (...args) =>
    execFileSync("git", args, {
      cwd: repo,
      stdio: "ignore",
      env: {
        ...env,
        GIT_AUTHOR_NAME: "demo",
        GIT_AUTHOR_EMAIL: "d@d",
        GIT_COMMITTER_NAME: "demo",
        GIT_COMMITTER_EMAIL: "d@d",
      },
    });
  git("init", "-q");
  writeFileSync(join(repo, "README.md"), "demo\n");
  git("add", "README.md");
  git("commit", "-q", "-m", "demo");

  // The past five hours, on a clock that walks forward from then (the store's clock
  // option); live work is added afterwards on the real clock.
  let past = Date.now() - 5.5 * 3_600_000;
  const history = await openBaton({ db, clock: () => past });
  const step = (minutes) => {
    past += minutes * 45_000;
  };
  await history.tasks.put(
    [
      { id: "101", title: "Rate-limit the login endpoint", category: "security", priority: 80 },
      { id: "102", title: "Flaky test in billing", category: "tests", priority: 60 },
      { id: "103", title: "Document the webhook retries", category: "docs", priority: 40 },
      { id: "104", title: "Split the invoices table", category: "db", priority: 55, blockedBy: ["102"] },
      { id: "105", title: "Upgrade the queue client", category: "deps", priority: 50 },
      { id: "106", title: "Cache the pricing page", category: "perf", priority: 45 },
      { id: "107", title: "Remove the v1 export", category: "cleanup", priority: 30 },
    ],
    "add",
  );
  const agents = ["claude-7f3a", "codex-21", "gemini-b4", "claude-9c10", "worker-5"];
  for (let i = 0; i < 24; i++) {
    const agent = agents[i % agents.length];
    const key = `github:acme/api#${200 + i}`;
    await history.claim(key, { as: agent, ttl: "30m", meta: { branch: `fix/${200 + i}` } });
    if (i % 3 === 1) await history.claim(key, { as: agents[(i + 1) % agents.length] });
    step(4 + (i % 5) * 2);
    if (i % 4 === 3) await history.release(key, { as: agent });
    else await history.complete(key, { as: agent, result: `merged #${300 + i}` });
    step(3 + (i % 3) * 3);
  }
  await history.claim("github:acme/api#190", { as: "claude-9c10", ttl: "30m" });
  step(12);
  await history.note("github:acme/api#190", { as: "claude-9c10", text: "migration written, backfill not run yet" });
  await history.abandon("github:acme/api#190", { as: "claude-9c10", reason: "session ended" });
  await history.close();

  const baton = await openBaton({ db });
  // Live work.
  await baton.claim("github:acme/api#231", {
    as: "claude-7f3a",
    ttl: "45m",
    meta: { branch: "fix/login-429", pr: 231 },
  });
  await baton.claim("github:acme/web#88", { as: "codex-21", ttl: "20m", meta: { branch: "feat/pricing-cache" } });
  await baton.next({ as: "gemini-b4", cwd: work, seed: 7 });
  await baton.claimPaths(["src/auth/", "src/http/limits.ts"], {
    as: "claude-7f3a",
    cwd: repo,
    ttl: "45m",
    reason: "login rate limit",
  });
  await baton.claimPaths(["docs/**/*.md"], {
    as: "worker-5",
    cwd: repo,
    ttl: "15m",
    shared: true,
    reason: "docs pass",
  });
  await baton.claim("gate:deploy:api-prod", { as: "worker-5", ttl: "2m" });
  // Contention: agents shopping for the same lanes.
  for (const agent of ["claude-9c10", "claude-9c10", "worker-5", "gemini-b4", "claude-9c10"]) {
    await baton.claim("github:acme/api#231", { as: agent });
  }
  // A loose end that expired (the abandoned one is above).
  await baton.claim("topic:flaky-ci", { as: "codex-21", ttl: "1s" });
  await baton.close();
  await sleep(1200);
  const admin = JSON.parse(cli("tokens", "add", "ops", "--admin", "--json")).token;

  server = spawn(process.execPath, [join(root, "dist", "cli", "baton.js"), "serve", "--port", "0"], {
    env,
    cwd: work,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (c) => {
      out += c;
      const m = /listening on (\S+)\n/.exec(out);
      if (m) resolve(m[1]);
    });
    server.once("exit", (code) => reject(new Error(`baton serve exited ${code}`)));
  });

  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  mkdirSync(join(root, "docs", "screenshots"), { recursive: true });
  // The top of the page (Now to Contention) at each width, to keep the pictures small.
  for (const [width, height] of [
    [1280, 1900],
    [390, 1500],
  ]) {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
    await page.goto(`${url}/#token=${admin}`);
    await page.waitForSelector("#status.live");
    await page.waitForSelector("#contention-body .tiles");
    await page.waitForSelector("#log-rows table");
    const file = join(root, "docs", "screenshots", `dashboard-${width}.png`);
    await page.screenshot({ path: file });
    console.log(`wrote ${file}`);
    await page.close();
  }
} finally {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
}

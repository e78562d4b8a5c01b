/**
 * The dashboard at `baton serve`'s `/`, in a real browser: Debian's chromium driven by
 * playwright-core, against a real server on loopback and the built CLI writing to the same
 * SQLite file. A claim made from the CLI shows with its holder, its countdown ticks,
 * completing it takes it out of Now, a loose end is resolved from the page with an admin
 * token, the log's search filters it; no console error, no request to another origin, and
 * nothing wider than a 390 px screen.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { cli, startServe, tempDir } from "./helpers.js";

/** The page's DOM as the predicates below use it (they run in the browser; tsconfig.json has no DOM lib). */
interface Cell {
  readonly textContent: string | null;
}
declare const document: {
  querySelector(selector: string): Cell | null;
  querySelectorAll(selector: string): ArrayLike<Cell>;
};

const CHROMIUM = process.env.BATON_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

interface Server {
  url: string;
  child: ChildProcess;
}

function startServer(env: Record<string, string>): Promise<Server> {
  return startServe(env, [], { reap: true });
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  await new Promise((resolve) => {
    server.child.once("exit", resolve);
    server.child.kill("SIGTERM");
  });
}

/** What one open page did: every request it made and every console error. */
interface Watched {
  page: Page;
  requests: string[];
  errors: string[];
}

describe("the dashboard in chromium", () => {
  const dir = tempDir("baton-dashboard-");
  const env = { BATON_DB: join(dir, "baton.db") };
  const run = (...args: string[]) => {
    const r = cli(args, { env });
    expect(r.code, `baton ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const tokenFor = (agent: string, ...flags: string[]): string =>
    (JSON.parse(run("tokens", "add", agent, "--json", ...flags)) as { token: string }).token;
  let server: Server;
  let browser: Browser;
  let reader: string;
  let admin: string;
  const opened: Watched[] = [];

  async function open(token: string, width = 1280): Promise<Watched> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const watched: Watched = { page, requests: [], errors: [] };
    page.on("request", (request) => watched.requests.push(request.url()));
    page.on("console", (message) => {
      if (message.type() === "error") watched.errors.push(message.text());
    });
    page.on("pageerror", (error) => watched.errors.push(String(error)));
    opened.push(watched);
    await page.goto(`${server.url}/#token=${token}`);
    await page.waitForSelector("#status.live");
    return watched;
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no chromium at ${CHROMIUM}: the dashboard tests need a real browser (apt-get install chromium, as .ci/run does, or set BATON_CHROMIUM)`,
      );
    }
    // First, two hours ago on the store's clock (it only moves forward): an agent gone silent.
    let past = Date.now() - 2 * 3_600_000;
    const history = await openBaton({ db: env.BATON_DB, clock: () => past });
    await history.claim("topic:old-work", { as: "old-timer", ttl: "10m" });
    past += 60_000;
    await history.complete("topic:old-work", { as: "old-timer" });
    await history.close();
    reader = tokenFor("dashboard", "--read-only");
    admin = tokenFor("ops", "--admin");
    // A loose end with a note, a backlog, and some history for the log.
    run("claim", "github:acme/api#190", "--as", "carol", "--ttl", "30m");
    run("note", "github:acme/api#190", "backfill not run yet", "--as", "carol");
    run("abandon", "github:acme/api#190", "--as", "carol", "--reason", "session ended");
    run("task", "add", "101", "--title", "Rate-limit login", "--category", "security", "--priority", "80");
    run("task", "add", "102", "--title", "Flaky billing test", "--category", "tests");
    run("claim", "topic:other-work", "--as", "dave", "--ttl", "30m");
    // frank is denied twice: told to stop shopping.
    for (let i = 0; i < 2; i++) expect(cli(["claim", "topic:other-work", "--as", "frank"], { env }).code).not.toBe(0);
    server = await startServer(env);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await stop(server);
  });

  it("takes the token from the fragment, keeps it in session storage and clears the address bar", async () => {
    const { page } = await open(reader);
    expect(await page.evaluate("location.hash")).toBe("");
    expect(await page.evaluate("sessionStorage.getItem('baton.dashboard.token') !== null")).toBe(true);
    await expect(page.textContent("#status")).resolves.toContain("dashboard (read-only)");
    // Read-only: the loose end is shown, without a resolve button.
    await page.waitForSelector('#loose-ends [data-key="github:acme/api#190"]');
    expect(await page.$$("#loose-ends [data-resolve]")).toHaveLength(0);
    await expect(page.textContent("#loose-ends")).resolves.toContain("backfill not run yet");
  });

  it("serves the page with a policy that keeps every request on this origin", async () => {
    const r = await fetch(`${server.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(r.headers.get("content-security-policy")).toContain("connect-src 'self'");
    expect(await r.text()).toContain('src="/dashboard/app.js"');
    expect((await fetch(`${server.url}/dashboard/app.js`)).headers.get("content-type")).toContain("javascript");
    for (const path of ["/dashboard/__proto__", "/dashboard/index.html", "/dashboard/..%2Fcli%2Fbaton.js"]) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    }
    // The views answer only with a token.
    expect((await fetch(`${server.url}/v1/fleet`, { method: "POST" })).status).toBe(401);
  });

  it("answers the page's views like any client: the log by filters and cursor, the fleet, contention", async () => {
    const view = async (name: string, body: Record<string, unknown>) => {
      const r = await fetch(`${server.url}/v1/${name}`, {
        method: "POST",
        headers: { authorization: `Bearer ${reader}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return {
        status: r.status,
        body: (await r.json()) as { ok: boolean; code?: string; data: Record<string, unknown> },
      };
    };
    const carol = await view("log", { agent: "carol" });
    expect(carol.status).toBe(200);
    const kinds = (carol.body.data.events as { kind: string; agent: string }[]).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["granted", "noted", "abandoned"]));
    const first = await view("log", { after: 0, limit: 2 });
    const ids = (first.body.data.events as { id: number }[]).map((e) => e.id);
    expect(ids).toEqual([1, 2]);
    expect(first.body.data.cursor).toBe(2);
    const next = await view("log", { after: 2, limit: 2 });
    expect((next.body.data.events as { id: number }[]).map((e) => e.id)).toEqual([3, 4]);
    expect((await view("log", { kind: ["nonsense"] })).status).toBe(400);
    expect((await view("log", { since: "soon" })).body.code).toBe("BAD_DURATION");

    const fleet = (await view("fleet", {})).body.data as {
      claims: { key: string }[];
      looseEnds: { key: string; note: string }[];
    };
    expect(fleet.claims.map((c) => c.key)).toContain("topic:other-work");
    expect(fleet.looseEnds.find((c) => c.key === "github:acme/api#190")?.note).toBe("backfill not run yet");
    const contention = (await view("contention", {})).body.data as {
      shoppers: { agent: string }[];
      candidates: { id: string }[];
    };
    expect(contention.shoppers.map((s) => s.agent)).toEqual(["frank"]);
    expect(contention.candidates.map((c) => c.id).sort()).toEqual(["101", "102"]);
    // A dry run: nothing was claimed.
    expect(JSON.parse(run("task", "show", "101", "--json"))).toMatchObject({ task: { state: "ready", holder: null } });
  });

  it("marks idle and silent agents, and names the agents told to stop shopping", async () => {
    const { page } = await open(reader);
    await page.waitForSelector('[data-agent="old-timer"]');
    await expect(page.textContent('[data-agent="old-timer"] .badge')).resolves.toBe("silent");
    await expect(page.textContent('[data-agent="carol"] .badge')).resolves.toBe("idle");
    await expect(page.textContent('[data-agent="dave"] .badge')).resolves.toBe("working");
    await page.waitForSelector("#contention-body .tiles");
    await expect(page.textContent("#contention-body")).resolves.toMatch(/frank — 2 denials/);
    await expect(page.textContent('#contention-body [data-count="ready"]')).resolves.toContain("2");
    await expect(page.textContent("#contention-body")).resolves.toContain("task:101");
  });

  it("shows a claim made from the CLI within 2 s with its holder, ticks its countdown, and drops it once completed", async () => {
    const { page } = await open(reader);
    run("claim", "github:acme/api#231", "--as", "alice", "--ttl", "10m", "--meta", '{"branch":"fix/login-429"}');
    const row = '#claims tr:has([data-key="github:acme/api#231"])';
    await page.waitForSelector(row, { timeout: 2000 });
    await expect(page.textContent(row)).resolves.toContain("alice");
    const ttl = `${row} .ttl`;
    const first = await page.textContent(ttl);
    expect(first).toMatch(/^\d+m \d\ds$/);
    await page.waitForFunction(([selector, before]) => document.querySelector(selector)?.textContent !== before, [
      ttl,
      first,
    ] as const);
    // Metadata on demand, by keyboard.
    await page.focus(`${row} summary`);
    await page.keyboard.press("Enter");
    await expect(page.textContent(`${row} pre`)).resolves.toContain("fix/login-429");

    run("complete", "github:acme/api#231", "--as", "alice", "--result", "merged");
    await page.waitForSelector(row, { state: "detached" });
    await expect(page.textContent("#claims")).resolves.toContain("topic:other-work");
  });

  it("resolves a loose end from the page with an admin token", async () => {
    const { page } = await open(admin);
    const button = '#loose-ends [data-resolve="github:acme/api#190"]';
    await page.waitForSelector(button);
    await page.fill('#loose-ends [data-focus="note:github:acme/api#190"]', "backfilled by hand");
    await page.click(button);
    await page.waitForSelector('#loose-ends [data-key="github:acme/api#190"]', { state: "detached" });
    const shown = JSON.parse(run("show", "github:acme/api#190", "--json")) as {
      claim: { state: string };
      events: { kind: string; agent: string }[];
    };
    expect(shown.claim.state).toBe("released");
    expect(shown.events.some((e) => e.kind === "resolved" && e.agent === "ops")).toBe(true);
  });

  it("filters the audit log by key, and pages it with the event cursor", async () => {
    run("claim", "github:acme/api#300", "--as", "erin");
    run("complete", "github:acme/api#300", "--as", "erin");
    // More than two pages of history, written through the library to the same file.
    const baton = await openBaton({ db: env.BATON_DB });
    for (let i = 0; i < 30; i++) await baton.claim(`topic:page-${i}`, { as: "erin", ttl: "1h" });
    await baton.close();
    const { page } = await open(reader);
    const keys = async (): Promise<string[]> =>
      page.$$eval('#log-rows td[data-label="Key"]', (cells) => cells.map((c) => c.textContent ?? ""));
    await page.waitForSelector('#log-rows td[data-label="Key"]');
    expect(new Set(await keys()).size).toBeGreaterThan(1);
    await page.fill('#log-filter input[name="key"]', "github:acme/api#300");
    await page.press('#log-filter input[name="key"]', "Enter");
    await page.waitForFunction((expected) => {
      const cells = Array.from(document.querySelectorAll('#log-rows td[data-label="Key"]'), (c) => c.textContent);
      return cells.length > 0 && cells.every((text) => text === expected);
    }, "github:acme/api#300");
    expect((await keys()).length).toBe(2); // granted, completed
    // Kind narrows further; the oldest page starts at the cursor 0.
    await page.selectOption('#log-filter select[name="kind"]', "completed");
    await page.click('#log-filter button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#log-rows td[data-label="Key"]').length === 1);
    await page.click("#log-filter button[type=reset]");
    await page.click("#log-oldest");
    const pageLabel = (text: string) =>
      page.waitForFunction((t) => document.querySelector("#log-page")?.textContent?.includes(t) === true, text);
    await pageLabel("25 events after #0 ");
    const ids = async (): Promise<number[]> =>
      page.$$eval('#log-rows td[data-label="Id"]', (cells) => cells.map((c) => Number(c.textContent)));
    expect(Math.min(...(await ids()))).toBe(1);
    await page.click("#log-newer");
    await pageLabel(" events after #25 ");
    expect(Math.min(...(await ids()))).toBe(26);
    await page.click("#log-back");
    await pageLabel("25 events after #0 ");
  });

  it("fits a 390 px screen, and made no request to another origin and logged no error", async () => {
    const { page } = await open(reader, 390);
    run(
      "claim",
      `github:acme/a-rather-long-repository-name-for-a-phone#${"9".repeat(30)}`,
      "--as",
      "an-agent-with-a-long-session-name-0123456789",
    );
    await page.waitForSelector('#claims [data-key^="github:acme/a-rather-long"]');
    await page.waitForSelector("#contention-body .tiles");
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    // The skip link is the first stop of the keyboard.
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.className")).toBe("skip");

    const origin = new URL(server.url).origin;
    for (const watched of opened) {
      expect(watched.requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith("data:"))).toEqual([]);
      expect(watched.requests.some((url) => url.includes("token="))).toBe(false);
      expect(watched.errors).toEqual([]);
    }
  });
});

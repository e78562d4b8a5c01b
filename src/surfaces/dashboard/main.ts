/**
 * Baton's dashboard: the page `baton serve` shows at `/`. It renders what three read-only
 * operations answer (`fleet`, `contention`, `log`) and refreshes them when the event
 * stream says something happened; the TTL countdowns tick from the claims' `expiresAt`
 * against the server's clock. It decides nothing itself: every number comes from `/v1`.
 */
import { EVENT_KINDS } from "../../core/types.js";
import { type Result, type StreamEvent, Unauthorized, call, follow, whoami } from "./api.js";
import { ago, clock, fill, h, span, table } from "./dom.js";

interface ClaimView {
  key: string;
  agent: string;
  token: number;
  state: string;
  claimedAt: string;
  expiresAt: string;
  endedAt: string | null;
  reason: string | null;
  meta: Record<string, unknown> | null;
}
interface LooseEnd extends ClaimView {
  note: string | null;
  noteAt: string | null;
}
interface PathView {
  repo: string;
  pattern: string;
  agent: string;
  mode: string;
  token: number;
  expiresAt: string;
  reason: string | null;
  workKey: string | null;
}
interface AgentView {
  agent: string;
  status: "working" | "idle" | "silent";
  live: number;
  lastAt: string | null;
  counts: Record<string, number>;
  timeline: { id: number; at: string; kind: string; key: string }[];
}
interface Fleet {
  now: string;
  since: string;
  silentAfterMs: number;
  claims: ClaimView[];
  gates: ClaimView[];
  paths: PathView[];
  looseEnds: LooseEnd[];
  agents: AgentView[];
}
interface Slice {
  decisions: number;
  denials: number;
  rate: number;
  buckets: { start: string; granted: number; denied: number }[];
}
interface Contention {
  hour: Slice;
  day: Slice;
  shoppers: { agent: string; denials: number }[];
  supply: {
    ready: number;
    claimed: number;
    blocked: number;
    done: number;
    verdicts: { verdict: string; rule: string }[];
  };
  candidates: {
    id: string;
    category: string;
    tier: number;
    priority: number;
    age: number;
    steering: number;
    saturation: number;
    total: number;
  }[];
  wouldTake: string | null;
}
interface LogPage {
  events: StreamEvent[];
  cursor: number | null;
}

const TOKEN_KEY = "baton.dashboard.token";
const LOG_PAGE = 25;
const TIMELINE_KINDS = ["granted", "completed", "released", "denied", "abandoned", "handed_off", "resolved"];
const KIND_LABEL: Record<string, string> = { granted: "claimed", handed_off: "handed off" };

const state = {
  token: "",
  role: "",
  agent: "",
  /** Server clock minus this machine's, from the last fleet answer. */
  offset: 0,
  fleet: null as Fleet | null,
  open: new Set<string>(),
  notes: new Map<string, string>(),
  log: {
    filter: {} as Record<string, unknown>,
    /** The cursor of the page shown (null: the newest events, following the stream). */
    after: null as number | null,
    /** Cursors of the pages before this one, for Back. */
    back: [] as (number | null)[],
    more: false,
    lastShown: null as number | null,
    /** Only the answer to the latest request is shown (a slow older one is dropped). */
    seq: 0,
  },
  stream: null as { close(): void } | null,
  timers: [] as number[],
};

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const serverNow = (): number => Date.now() + state.offset;

function setStatus(text: string, kind: "live" | "down" | "" = ""): void {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${kind}`;
}

/** Run `fn` once, `ms` after the last call (bursts of events cost one refresh). */
function debounce(fn: () => Promise<void>, ms: number): () => void {
  let timer: number | undefined;
  let running = false;
  let again = false;
  const fire = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } catch (error) {
      failed(error);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = (): void => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void fire(), ms);
  };
  return schedule;
}

function failed(error: unknown): void {
  if (error instanceof Unauthorized) signOut("The token was refused (unknown or revoked).");
  else setStatus(`cannot reach the server: ${(error as Error).message}`, "down");
}

function unwrap<T>(result: Result<T>): T {
  if (!result.ok || result.data === undefined) throw new Error(`${result.code ?? "error"}: ${result.message}`);
  return result.data;
}

// ---------------------------------------------------------------------------
// Now
// ---------------------------------------------------------------------------

function countdown(expiresAt: string): HTMLElement {
  return h("span", { class: "ttl", "data-expires": expiresAt });
}

/** Update every countdown on the page; true when one just ran out. */
function tick(): boolean {
  let ranOut = false;
  for (const el of document.querySelectorAll<HTMLElement>("[data-expires]")) {
    const left = Date.parse(el.dataset.expires ?? "") - serverNow();
    const text = left > 0 ? span(left) : "expired";
    if (el.textContent !== text) el.textContent = text;
    el.classList.toggle("soon", left > 0 && left < 60_000);
    if (left <= 0 && !el.classList.contains("gone")) {
      el.classList.add("gone");
      ranOut = true;
    }
  }
  for (const el of document.querySelectorAll<HTMLElement>("[data-since]")) {
    const text = ago(serverNow() - Date.parse(el.dataset.since ?? ""));
    if (el.textContent !== text) el.textContent = text;
  }
  return ranOut;
}

function metaCell(claim: ClaimView): HTMLElement | string {
  if (claim.meta === null || Object.keys(claim.meta).length === 0) return "—";
  const id = `meta:${claim.key}:${claim.token}`;
  const details = h(
    "details",
    { open: state.open.has(id) },
    h("summary", { "data-focus": id }, "metadata"),
    h("pre", {}, JSON.stringify(claim.meta, null, 2)),
  );
  details.addEventListener("toggle", () => (details.open ? state.open.add(id) : state.open.delete(id)));
  return details;
}

function renderNow(fleet: Fleet): void {
  const now = Date.parse(fleet.now);
  fill(
    "claims",
    fleet.claims.length === 0
      ? h("p", { class: "empty" }, "No live work claims.")
      : table(
          ["Key", "Holder", "Since", "Expires in", "Token", "Metadata"],
          fleet.claims.map((c) => [
            h("span", { class: "mono", "data-key": c.key }, c.key),
            c.agent,
            h("span", { title: c.claimedAt, "data-since": c.claimedAt }, ago(now - Date.parse(c.claimedAt))),
            countdown(c.expiresAt),
            h("span", { class: "mono" }, c.token),
            metaCell(c),
          ]),
          ["Token"],
          ["Since", "Expires in", "Token"],
        ),
  );
  const repos = new Map<string, PathView[]>();
  for (const p of fleet.paths) repos.set(p.repo, [...(repos.get(p.repo) ?? []), p]);
  fill(
    "paths",
    repos.size === 0
      ? h("p", { class: "empty" }, "No live path claims.")
      : h(
          "div",
          {},
          ...[...repos].map(([repo, paths]) =>
            h(
              "div",
              {},
              h("p", { class: "repo" }, `Repository ${repo}`),
              table(
                ["Pattern", "Holder", "Mode", "Expires in", "Work key", "Reason"],
                paths.map((p) => [
                  h("span", { class: "mono" }, p.pattern),
                  p.agent,
                  p.mode,
                  countdown(p.expiresAt),
                  p.workKey ?? "—",
                  p.reason ?? "—",
                ]),
              ),
            ),
          ),
        ),
  );
  fill(
    "gates",
    fleet.gates.length === 0
      ? h("p", { class: "empty" }, "No gate is running.")
      : table(
          ["Gate", "Run by", "Since", "Lock expires in", "Token"],
          fleet.gates.map((g) => [
            h("span", { class: "mono" }, g.key),
            g.agent,
            ago(now - Date.parse(g.claimedAt)),
            countdown(g.expiresAt),
            g.token,
          ]),
          ["Token"],
        ),
  );
}

// ---------------------------------------------------------------------------
// Loose ends
// ---------------------------------------------------------------------------

async function resolveLooseEnd(key: string, button: HTMLButtonElement, message: HTMLElement): Promise<void> {
  button.disabled = true;
  const note = state.notes.get(key)?.trim();
  const r = await call(state.token, "resolve", { key, ...(note ? { note } : {}) });
  message.textContent = r.ok ? "resolved" : `${r.code ?? "refused"}: ${r.message}`;
  if (r.ok) state.notes.delete(key);
  else button.disabled = false;
  refreshFleet();
}

function renderLooseEnds(fleet: Fleet): void {
  const now = Date.parse(fleet.now);
  const canResolve = state.role !== "read-only";
  fill(
    "loose-ends",
    fleet.looseEnds.length === 0
      ? h("p", { class: "empty" }, "No loose ends.")
      : table(
          ["Key", "State", "Last held by", "When", "Last note", "Action"],
          fleet.looseEnds.map((c) => {
            const message = h("span", { class: "hint", role: "status" });
            const input = h("input", {
              type: "text",
              placeholder: "note (optional)",
              "aria-label": `Note for resolving ${c.key}`,
              "data-focus": `note:${c.key}`,
              value: state.notes.get(c.key) ?? "",
            });
            input.addEventListener("input", () => state.notes.set(c.key, input.value));
            const button = h(
              "button",
              { type: "button", "data-resolve": c.key, "data-focus": `resolve:${c.key}` },
              "Resolve",
            );
            button.addEventListener("click", () => void resolveLooseEnd(c.key, button, message).catch(failed));
            const when = c.endedAt ?? c.expiresAt;
            return [
              h("span", { class: "mono", "data-key": c.key }, c.key),
              h("span", { class: `badge ${c.state}` }, c.state),
              c.agent,
              h("span", { title: when }, ago(now - Date.parse(when))),
              c.note ?? c.reason ?? "—",
              canResolve
                ? h("div", { class: "resolve" }, input, button, message)
                : h("span", { class: "hint" }, "read-only token: resolve with an admin token or baton resolve"),
            ];
          }),
        ),
  );
}

// ---------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------

function renderAgents(fleet: Fleet): void {
  const from = Date.parse(fleet.since);
  const to = Date.parse(fleet.now);
  const hours = Math.round((to - from) / 3_600_000);
  const legend = h(
    "div",
    { class: "legend", "aria-hidden": "true" },
    ...TIMELINE_KINDS.map((k) => h("span", {}, h("span", { class: `sw k-${k}` }), KIND_LABEL[k] ?? k)),
  );
  const rows = fleet.agents.map((a) => {
    const counts = TIMELINE_KINDS.filter((k) => (a.counts[k] ?? 0) > 0)
      .map((k) => `${KIND_LABEL[k] ?? k} ${a.counts[k]}`)
      .join(" · ");
    const marks = a.timeline.map((e) =>
      h("span", {
        class: `mark k-${e.kind === "reaped" ? "abandoned" : e.kind}`,
        style: `left:${(((Date.parse(e.at) - from) / Math.max(to - from, 1)) * 100).toFixed(2)}%`,
        title: `${KIND_LABEL[e.kind] ?? e.kind} ${e.key} at ${clock(e.at)}`,
      }),
    );
    return h(
      "div",
      { class: "agent", "data-agent": a.agent },
      h(
        "div",
        { class: "who" },
        h("strong", {}, a.agent),
        " ",
        h("span", { class: `badge ${a.status}` }, a.status),
        h(
          "div",
          { class: "facts" },
          `${a.live} live · last seen ${a.lastAt === null ? "never" : ago(to - Date.parse(a.lastAt))}`,
          h("br"),
          counts === "" ? `nothing in ${hours} h` : counts,
        ),
      ),
      h(
        "div",
        { class: "timeline", role: "img", "aria-label": `${a.agent}, last ${hours} hours: ${counts || "no activity"}` },
        ...marks,
      ),
    );
  });
  fill(
    "agent-rows",
    h(
      "p",
      { class: "hint" },
      `Timelines span the last ${hours} hours. Idle: holds no live claim. Silent: no event for ${Math.round(fleet.silentAfterMs / 60_000)} minutes or more.`,
    ),
    legend,
    rows.length === 0
      ? h("p", { class: "empty" }, "No agent has acted recently.")
      : h("div", { class: "agents" }, ...rows),
  );
}

// ---------------------------------------------------------------------------
// Contention and supply
// ---------------------------------------------------------------------------

function bars(title: string, w: Slice, label: (start: string) => string): HTMLElement {
  const top = Math.max(1, ...w.buckets.map((b) => b.granted + b.denied));
  const first = w.buckets[0];
  const last = w.buckets[w.buckets.length - 1];
  return h(
    "figure",
    { style: "margin:0" },
    h(
      "figcaption",
      {},
      h("strong", {}, title),
      ` — ${w.denials} denied of ${w.decisions} decisions (${Math.round(w.rate * 100)}% denied)`,
    ),
    h(
      "div",
      {
        class: "bars",
        role: "img",
        "aria-label": `${title}: ${w.buckets.map((b) => b.denied).join(", ")} denials per slice`,
      },
      ...w.buckets.map((b) =>
        h(
          "div",
          { class: "bar", title: `${label(b.start)}: ${b.denied} denied, ${b.granted} granted` },
          h("div", { class: "d", style: `height:${((b.denied / top) * 100).toFixed(1)}%` }),
          h("div", { class: "g", style: `height:${((b.granted / top) * 100).toFixed(1)}%` }),
        ),
      ),
    ),
    h(
      "div",
      { class: "axis", "aria-hidden": "true" },
      h("span", {}, first ? label(first.start) : ""),
      h("span", {}, last ? "now" : ""),
    ),
  );
}

function renderContention(c: Contention): void {
  const time = (iso: string): string =>
    new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  const tile = (label: string, n: number): HTMLElement =>
    h("div", { class: "tile", "data-count": label }, h("b", {}, n), label);
  fill(
    "contention-body",
    h("div", { class: "cols" }, bars("Last hour", c.hour, time), bars("Last day", c.day, time)),
    h(
      "div",
      { class: "legend", "aria-hidden": "true" },
      h("span", {}, h("span", { class: "sw k-denied" }), "denied"),
      h("span", {}, h("span", { class: "sw", style: "background:#5f87d0" }), "granted"),
    ),
    h("h3", {}, "Told to stop shopping (denied twice or more in the last hour)"),
    c.shoppers.length === 0
      ? h("p", { class: "empty" }, "Nobody.")
      : h("ul", {}, ...c.shoppers.map((s) => h("li", {}, h("strong", {}, s.agent), ` — ${s.denials} denials`))),
    h("h3", {}, "Backlog"),
    h(
      "div",
      { class: "tiles" },
      tile("ready", c.supply.ready),
      tile("claimed", c.supply.claimed),
      tile("blocked", c.supply.blocked),
      tile("done", c.supply.done),
    ),
    h(
      "ul",
      { class: "verdicts" },
      ...c.supply.verdicts.map((v) => h("li", {}, h("span", { class: `badge ${v.verdict}` }, v.verdict), " ", v.rule)),
    ),
    h("h3", {}, "Next's top candidates (a dry run: nothing claimed)"),
    c.candidates.length === 0
      ? h("p", { class: "empty" }, "No ready task.")
      : table(
          ["Task", "Category", "Tier", "Priority", "Age", "Steering", "Saturation", "Score"],
          c.candidates.map((t) => [
            h("span", { class: "mono" }, `task:${t.id}`, t.id === c.wouldTake ? " ★" : ""),
            t.category,
            t.tier,
            t.priority.toFixed(1),
            t.age.toFixed(1),
            t.steering.toFixed(1),
            t.saturation > 0 ? `−${t.saturation.toFixed(1)}` : "0.0",
            h("strong", {}, t.total.toFixed(1)),
          ]),
          ["Tier", "Priority", "Age", "Steering", "Saturation", "Score"],
        ),
  );
}

// ---------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------

function detailText(e: StreamEvent): string {
  if (e.detail === null || Object.keys(e.detail).length === 0) return "";
  return JSON.stringify(e.detail);
}

async function loadLog(): Promise<void> {
  const { filter, after } = state.log;
  const seq = ++state.log.seq;
  const r = await call<LogPage>(state.token, "log", {
    ...filter,
    limit: LOG_PAGE,
    ...(after === null ? {} : { after }),
  });
  if (seq !== state.log.seq) return;
  if (!r.ok || r.data === undefined) {
    fill("log-rows", h("p", { class: "error", role: "alert" }, `${r.code ?? "error"}: ${r.message}`));
    return;
  }
  const page = r.data;
  state.log.more = after !== null && page.events.length === LOG_PAGE;
  const rows = [...page.events]
    .reverse()
    .map((e) => [
      h("span", { class: "mono" }, e.id),
      h("span", { title: e.at }, clock(e.at)),
      h("span", { class: `kind k-${e.kind}-text` }, e.kind),
      h("span", { class: "mono" }, e.key),
      e.agent,
      e.token ?? "—",
      h("span", { class: "mono detail" }, detailText(e)),
    ]);
  fill(
    "log-rows",
    rows.length === 0
      ? h("p", { class: "empty" }, "No event matches.")
      : table(
          ["Id", "Time", "Kind", "Key", "Agent", "Token", "Detail"],
          rows,
          ["Id", "Token"],
          ["Id", "Time", "Kind", "Agent", "Token"],
        ),
  );
  $("log-page").textContent =
    after === null
      ? `the newest ${page.events.length} (live)`
      : `${page.events.length} events after #${after} ${state.log.more ? "(more newer)" : "(the newest)"}`;
  ($("log-back") as HTMLButtonElement).disabled = state.log.back.length === 0;
  ($("log-newer") as HTMLButtonElement).disabled = !state.log.more;
  ($("log-latest") as HTMLButtonElement).disabled = after === null;
  state.log.lastShown = page.events[page.events.length - 1]?.id ?? null;
}

function readFilter(form: HTMLFormElement): Record<string, unknown> {
  const data = new FormData(form);
  const text = (name: string): string => String(data.get(name) ?? "").trim();
  return {
    ...(text("key") === "" ? {} : { key: text("key") }),
    ...(text("agent") === "" ? {} : { agent: text("agent") }),
    ...(text("kind") === "" ? {} : { kind: [text("kind")] }),
    ...(text("since") === "" ? {} : { since: text("since") }),
  };
}

function setupLog(): void {
  const form = $<HTMLFormElement>("log-filter");
  const kinds = form.elements.namedItem("kind") as HTMLSelectElement;
  kinds.replaceChildren(
    h("option", { value: "" }, "any kind"),
    ...EVENT_KINDS.map((k) => h("option", { value: k }, k)),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.log = { ...state.log, filter: readFilter(form), after: null, back: [] };
    void loadLog().catch(failed);
  });
  form.addEventListener("reset", () => {
    state.log = { ...state.log, filter: {}, after: null, back: [] };
    window.setTimeout(() => void loadLog().catch(failed), 0);
  });
  $("log-latest").addEventListener("click", () => {
    state.log = { ...state.log, after: null, back: [] };
    void loadLog().catch(failed);
  });
  $("log-oldest").addEventListener("click", () => {
    state.log = { ...state.log, after: 0, back: [] };
    void loadLog().catch(failed);
  });
  $("log-newer").addEventListener("click", () => {
    if (!state.log.more || state.log.lastShown === null) return;
    state.log = { ...state.log, back: [...state.log.back, state.log.after], after: state.log.lastShown };
    void loadLog().catch(failed);
  });
  $("log-back").addEventListener("click", () => {
    const back = [...state.log.back];
    const previous = back.pop();
    if (previous === undefined) return;
    state.log = { ...state.log, back, after: previous };
    void loadLog().catch(failed);
  });
}

// ---------------------------------------------------------------------------
// Refreshing
// ---------------------------------------------------------------------------

/** Re-render keeping the keyboard focus where it was (on the element with the same data-focus). */
function keepingFocus(render: () => void): void {
  const focused = (document.activeElement as HTMLElement | null)?.dataset?.focus;
  render();
  if (focused !== undefined) document.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focused)}"]`)?.focus();
}

const refreshFleet = debounce(async () => {
  const asked = Date.now();
  const fleet = unwrap(await call<Fleet>(state.token, "fleet", {}));
  state.offset = Date.parse(fleet.now) - (asked + Date.now()) / 2;
  state.fleet = fleet;
  keepingFocus(() => {
    renderNow(fleet);
    renderLooseEnds(fleet);
    renderAgents(fleet);
  });
  tick();
}, 150);

const refreshContention = debounce(async () => {
  renderContention(unwrap(await call<Contention>(state.token, "contention", {})));
}, 600);

const refreshLog = debounce(async () => {
  if (state.log.after === null) await loadLog();
}, 150);

function onEvent(_event?: StreamEvent): void {
  refreshFleet();
  refreshContention();
  refreshLog();
}

async function start(token: string): Promise<void> {
  const me = await whoami(token);
  state.token = token;
  state.role = me.role;
  state.agent = me.agent;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("signin").hidden = true;
  $("board").hidden = false;
  $("signout").hidden = false;
  setStatus(`connecting as ${me.agent} (${me.role})`);
  // Follow the stream from the newest event: what came before is in the first answers.
  const newest = unwrap(await call<LogPage>(token, "log", { limit: 1 }));
  refreshFleet();
  refreshContention();
  await loadLog();
  let wasDown = false;
  state.stream = follow(token, newest.cursor ?? 0, onEvent, (s) => {
    if (s === "refused") signOut("The token was refused (unknown or revoked).");
    else if (s === "live") {
      setStatus(`live · ${me.agent} (${me.role})`, "live");
      // Back after a drop: the stream resumes after the last event seen, and the views are re-read.
      if (wasDown) onEvent();
      wasDown = false;
    } else {
      wasDown = true;
      setStatus("reconnecting to the event stream…", "down");
    }
  });
  state.timers.push(
    window.setInterval(() => {
      if (tick()) refreshFleet();
    }, 1000),
    // Statuses (idle, silent) and the buckets move with time alone.
    window.setInterval(() => {
      refreshFleet();
      refreshContention();
    }, 30_000),
  );
}

function signOut(reason = ""): void {
  sessionStorage.removeItem(TOKEN_KEY);
  state.stream?.close();
  state.stream = null;
  for (const timer of state.timers) window.clearInterval(timer);
  state.timers = [];
  state.token = "";
  $("board").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = reason;
  setStatus("not connected");
  $<HTMLInputElement>("token").focus();
}

function boot(): void {
  setupLog();
  // A token in the fragment (#token=…) is taken once and removed from the address bar:
  // fragments never reach the server, and the history entry no longer holds it.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given !== null) {
    sessionStorage.setItem(TOKEN_KEY, given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $<HTMLInputElement>("token").value.trim();
    $<HTMLInputElement>("token").value = "";
    start(value).catch((error: unknown) =>
      signOut(error instanceof Unauthorized ? "That token was refused." : (error as Error).message),
    );
  });
  $("signout").addEventListener("click", () => signOut());
  window.addEventListener("pagehide", () => state.stream?.close());
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved === null || saved === "") signOut();
  else resume(saved);
}

/** Open with the saved token; a server that cannot be reached is retried, only a refused token is dropped. */
function resume(token: string): void {
  start(token).catch((error: unknown) => {
    if (error instanceof Unauthorized) return signOut("The saved token was refused.");
    setStatus(`cannot reach the server (${(error as Error).message}); retrying…`, "down");
    window.setTimeout(() => resume(token), 3000);
  });
}

boot();

/**
 * The CLI's half of the operation catalogue: for every operation of src/api/catalogue.ts
 * (the compiler refuses one without an entry here), its command words, its arguments and
 * flags as input fields, and how its answer prints. main.ts declares the commands from this
 * table, src/surfaces/cli/operation-command.ts runs them (one path: flags → input by this
 * metadata, then the library here or `baton serve` through BATON_URL, then the render), and
 * scripts/docs.mjs writes docs/COMMANDS.md from it.
 *
 * Nothing here loads zod or the catalogue (types only): a CLI call never evaluates a schema.
 * The services validate the input as they do for every caller.
 */
import type { OperationResult } from "../../api/catalogue.js";
import type { GateMarkWithSkips } from "../../services/gates.js";
import { shown } from "../../services/claims.js";
import { CLAIM_STATES, type BatonEvent, type Claim, EVENT_KINDS, TASK_STATES, type Task } from "../../core/types.js";
import { resolve } from "node:path";
import { formatDuration, parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import { isoSeconds } from "../../core/time.js";
import { parseAgent } from "../../core/identity.js";
import { table } from "./output.js";
import { claimFromView, eventFromView, inLibraryOrder, libraryAnswer } from "./remote.js";
import { describeClaim, describeEvent, describeTask, relative } from "./render.js";
import type { CliFlag, CliOperations, Prepared, Rendered } from "./operation-spec.js";

/** Fields given, without the ones absent (exactOptionalPropertyTypes). */
function defined<T extends Record<string, unknown>>(fields: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) out[name] = value;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** `log --follow`'s arguments, here or through a server: the output mode, the filter, the cursor, how many of the newest first. */
function followArguments(p: Prepared<"log">) {
  const { key, agent, kind, since, after, limit } = p.input;
  return [{ json: p.flags.json === true }, defined({ key, agent, kind, since }), after, limit ?? 100] as const;
}

/** The acting agent of a call that needs one (operation-command.ts decided it before the store opened). */
const as = (p: { readonly agent: string | undefined }): string => p.agent as string;

const ttl = (description: string): CliFlag => ({
  flag: "--ttl",
  value: "duration",
  field: "ttl",
  type: "duration",
  description,
});
const note = (description: string): CliFlag => ({
  flag: "--note",
  value: "text",
  field: "note",
  type: "string",
  parse: "text",
  description,
});
const keyArgument = { name: "key", field: "key", parse: "key" } as const;
const windowFlag: CliFlag = {
  flag: "--window",
  value: "duration",
  field: "window",
  type: "duration",
  description: "how long a mark holds (default 24h)",
};
const markerDirFlag: CliFlag = {
  flag: "--marker-dir",
  value: "dir",
  type: "string",
  description: "also keep marks as JSON files here (default: $BATON_MARKER_DIR)",
};

const repoFlag: CliFlag = {
  flag: "--repo",
  value: "id",
  field: "repo",
  type: "string",
  description: "repository identity to use instead of asking git",
};

/** The fields `task add` and `task update` set (`title`: the refusal when it is missing). */
function taskFlags(text: { title?: string; blockedBy: string; paths: string }): CliFlag[] {
  return [
    {
      flag: "--title",
      value: "text",
      field: "title",
      type: "string",
      ...(text.title === undefined ? {} : { required: text.title }),
      description: "what the task is",
    },
    {
      flag: "--category",
      value: "name",
      field: "category",
      type: "string",
      description: "its category (default general)",
    },
    {
      flag: "--priority",
      value: "0-100",
      field: "priority",
      type: "number",
      min: 0,
      max: 100,
      refusal: { code: "BAD_INPUT" },
      description: "higher first (default 50)",
    },
    {
      flag: "--blocked-by",
      value: "ids",
      field: "blockedBy",
      type: "list",
      variadic: true,
      description: text.blockedBy,
    },
    { flag: "--paths", value: "patterns", field: "paths", type: "list", variadic: true, description: text.paths },
    { flag: "--assignee", value: "agent", field: "assignee", type: "string", description: "tier 1 for this agent" },
    { flag: "--meta", value: "json", field: "meta", type: "string", description: "a JSON object stored with the task" },
  ];
}

/**
 * `--paths` of a task for a server: typed here, so resolved in this checkout (git, symbolic
 * links) and sent repository-relative; the server reads nothing of ours.
 */
async function sentPaths(p: { readonly input: { paths?: string[] | undefined } }): Promise<void> {
  const { paths } = p.input;
  if (paths === undefined || paths.length === 0) return;
  const { CHECKOUT_PATHS } = await import("../../workspace/checkout.js");
  p.input.paths = await CHECKOUT_PATHS.patterns(paths, {});
}

/** The configured agent, when there is one (task done/reopen act as it, or as nobody). */
function actingIfSet(p: Pick<Prepared, "config">): { as?: string } {
  return p.config.agent === undefined ? {} : { as: parseAgent(p.config.agent) };
}

/** A gate's marker folder: `--marker-dir` or BATON_MARKER_DIR, checked before anything runs. */
async function markerDir(p: Pick<Prepared, "flags" | "config" | "extra">): Promise<void> {
  const given = p.flags.markerDir as string | undefined;
  const dir = given === undefined ? p.config.markerDir : resolve(process.cwd(), given);
  if (dir !== undefined) {
    const { MarkerDir } = await import("../../workspace/markers.js");
    p.extra.markers = new MarkerDir(dir); // not a folder or unreadable: refused before anything runs
  }
}

/** Marker files are this machine's, not the server's. */
async function noMarkersRemotely(p: Pick<Prepared, "extra">): Promise<void> {
  if (p.extra.markers !== undefined) {
    const { remoteUnsupported } = await import("./session.js");
    throw remoteUnsupported("gate marker files (--marker-dir, BATON_MARKER_DIR)");
  }
}

/** What `next` answers, here or (its `data`) from a server: the parts `--explain` shows. */
interface NextAnswer {
  readonly ok: boolean;
  readonly message: string;
  readonly tier: number;
  readonly task: { readonly id: string } | null;
  readonly candidates: readonly {
    readonly id: string;
    readonly tier: number;
    readonly category: string;
    readonly priority: number;
    readonly age: number;
    readonly steering: number;
    readonly saturation: number;
    readonly total: number;
  }[];
  readonly skipped: readonly string[];
  readonly seed: number;
}

/** `next --explain`: the top candidates and each term of their score, then who won and why. */
function explanation(r: NextAnswer): string {
  if (r.candidates.length === 0) return "";
  const rows = table(
    ["task", "tier", "category", "priority", "age", "steering", "saturation", "score"],
    r.candidates.map((c) => [
      c.id,
      String(c.tier),
      c.category,
      String(c.priority),
      c.age.toFixed(1),
      c.steering.toFixed(1),
      `-${c.saturation.toFixed(1)}`,
      c.total.toFixed(1),
    ]),
  );
  const won = r.task ? `${r.task.id} won: tier ${r.tier}, then the highest score` : "";
  const skipped = r.skipped.length ? `; skipped (taken meanwhile, or paths claimed): ${r.skipped.join(", ")}` : "";
  return `\n${rows}\n${won}${skipped} (seed ${r.seed})`;
}

/** A reap's answer as the library gives it (the server's revived: the reaped claims' dates as dates). */
interface ReapAnswer {
  readonly ok: true;
  readonly reaped: readonly Claim[];
  readonly count: number;
  readonly minAgeMs: number;
  readonly message: string;
}

/** `reap`'s and `work-reap`'s first line (`age`: the min age as the command was given it). */
export const reapedLine = (n: number, age: string): string =>
  `reaped ${n} stale claim${n === 1 ? "" : "s"} (expired >${age}) -> abandoned`;

/** A `reap` answer of the server as the library's: its `data` fields, the claims revived. */
export function reapFromServer(result: OperationResult): ReapAnswer {
  const answer = libraryAnswer(result) as unknown as ReapAnswer & { reaped: Record<string, unknown>[] };
  return { ...answer, reaped: answer.reaped.map(claimFromView) };
}

export const CLI_OPERATIONS: CliOperations = {
  claim: {
    words: "claim",
    summary: "claim a key (granted, renewed, denied, or done recently)",
    args: [{ ...keyArgument, description: "the work: github:owner/repo#123, task:42, topic:..." }],
    flags: [
      ttl("lease length: 30s, 15m, 2h, 1d; a bare number is minutes"),
      {
        flag: "--meta",
        value: "json",
        field: "meta",
        type: "json",
        description: "a JSON object stored with the claim",
      },
      {
        flag: "--reopen",
        field: "reopen",
        type: "boolean",
        description: "claim even if the work was completed in the last 24 h",
      },
      {
        flag: "--strict-similar",
        type: "boolean",
        description: "refuse (CLAIM_SIMILAR) when a similar key in the namespace was claimed first",
      },
      {
        flag: "--similar",
        value: "mode",
        field: "similar",
        type: "enum",
        choices: ["warn", "strict", "off"],
        description: "near-duplicate check: warn (default), strict, off",
      },
      {
        flag: "--paths",
        value: "patterns",
        field: "paths",
        type: "list",
        variadic: true,
        description: "also claim these repository paths, in the same transaction (all or nothing)",
      },
      { flag: "--shared", field: "shared", type: "boolean", description: "with --paths: hold the paths shared" },
      {
        flag: "--advisory",
        field: "advisory",
        type: "boolean",
        description: "with --paths: grant the paths despite conflicts, reporting them",
      },
      {
        flag: "--reason",
        value: "text",
        field: "reason",
        type: "string",
        parse: "text",
        description: "with --paths: why the paths are claimed",
      },
      { ...repoFlag, description: "with --paths: repository identity to use instead of asking git" },
    ],
    agent: true,
    // The paths are resolved against this checkout (workspace): their own handler.
    delegate: (args, flags) =>
      flags.paths === undefined
        ? undefined
        : import("./paths.js").then((m) => m.claimWithPaths(args[0] as string, flags.paths as string[], flags)),
    prepare(p) {
      // Without --paths (claimWithPaths took the call otherwise) the path options mean nothing: ignored, as always.
      delete p.input.shared;
      delete p.input.advisory;
      delete p.input.reason;
      delete p.input.repo;
      // --strict-similar > --similar > BATON_SIMILAR / config > warn.
      const mode = p.flags.strictSimilar === true ? "strict" : (p.input.similar ?? p.config.similar ?? "warn");
      p.input.similar = mode;
    },
    local: (baton, p) =>
      baton.claim(p.input.key, {
        as: as(p),
        ...defined({ ttl: p.input.ttl, meta: p.input.meta, similar: p.input.similar }),
        reopen: p.input.reopen === true,
      }),
  },
  renew: {
    words: "renew",
    summary: "extend my live claim",
    args: [keyArgument],
    flags: [ttl("new lease length from now (default: the claim's own)")],
    agent: true,
    local: (baton, p) => baton.renew(p.input.key, { as: as(p), ...defined({ ttl: p.input.ttl }) }),
  },
  complete: {
    words: "complete",
    summary: "complete my live claim",
    args: [keyArgument],
    flags: [
      { flag: "--result", value: "text", field: "result", type: "string", parse: "text", description: "what was done" },
      {
        flag: "--commit",
        value: "sha",
        field: "commit",
        type: "string",
        parse: "commit",
        description: "the commit that did it",
      },
      {
        flag: "--outcome",
        value: "outcome",
        field: "outcome",
        type: "enum",
        choices: ["success", "failure", "noop"],
        refusal: { invalid: "success, failure or noop" },
        description: "for tasks: success, failure or noop (steers next)",
      },
    ],
    agent: true,
    local: (baton, p) =>
      baton.complete(p.input.key, {
        as: as(p),
        ...defined({ result: p.input.result, commit: p.input.commit, outcome: p.input.outcome }),
      }),
  },
  release: {
    words: "release",
    summary: "give my claim back",
    args: [keyArgument],
    flags: [
      {
        flag: "--commit",
        value: "sha",
        field: "commit",
        type: "string",
        parse: "commit",
        description: "the commit, if any",
      },
    ],
    agent: true,
    local: (baton, p) => baton.release(p.input.key, { as: as(p), ...defined({ commit: p.input.commit }) }),
  },
  abandon: {
    words: "abandon",
    summary: "give my claim up; it becomes a loose end",
    args: [keyArgument],
    flags: [{ flag: "--reason", value: "text", field: "reason", type: "string", parse: "text", description: "why" }],
    agent: true,
    local: (baton, p) => baton.abandon(p.input.key, { as: as(p), ...defined({ reason: p.input.reason }) }),
  },
  handoff: {
    words: "handoff",
    summary: "pass my live claim to another agent (new token for them; paths move too)",
    args: [keyArgument],
    flags: [
      {
        flag: "--to",
        value: "agent",
        field: "to",
        type: "string",
        parse: "agent",
        required: true,
        description: "who takes the claim over",
      },
      note("what they need to know"),
    ],
    agent: true,
    local: (baton, p) => baton.handoff(p.input.key, { as: as(p), to: p.input.to, ...defined({ note: p.input.note }) }),
  },
  resolve: {
    words: "resolve",
    summary: "close a loose end (an abandoned or expired claim): it leaves context's loose ends",
    args: [keyArgument],
    flags: [note("how it was settled")],
    agent: true,
    local: (baton, p) => baton.resolve(p.input.key, { as: as(p), ...defined({ note: p.input.note }) }),
  },
  reap: {
    words: "reap",
    summary: "turn claims expired for at least --min-age into abandoned loose ends",
    flags: [
      { flag: "--min-age", value: "duration", type: "string", description: "how long past expiry (default 24h)" },
    ],
    prepare(p) {
      const text = p.flags.minAge;
      const ms =
        text === undefined ? 24 * 3_600_000 : parseDuration(String(text), { name: "--min-age", allowZero: true });
      p.input.minAge = `${ms}ms`;
      p.extra.minAgeMs = ms;
      // Here the reap is logged as by the configured agent, if any; through a server by the token's.
      if (p.config.agent !== undefined) p.extra.by = parseAgent(p.config.agent);
    },
    local: async (baton, p) => ({
      ok: true,
      ...(await baton.reap({
        minAge: p.extra.minAgeMs as number,
        ...defined({ as: p.extra.by as string | undefined }),
      })),
    }),
    fromServer: reapFromServer,
    render(answer: ReapAnswer): Rendered {
      const lines = [reapedLine(answer.reaped.length, formatDuration(answer.minAgeMs))];
      for (const c of answer.reaped)
        lines.push(`  loose end: ${c.key}  (${c.agent}, token ${c.token}, expired ${isoSeconds(c.expiresAt)})`);
      return { ok: true, json: answer, text: lines.join("\n") };
    },
  },
  show: {
    words: "show",
    summary: "the state of a key and its recent events",
    args: [keyArgument],
    prepare(p) {
      p.input.events = 20;
    },
    async local(baton, p) {
      const result = await baton.show(p.input.key, { events: 20 });
      return { ...result, now: await baton.now() };
    },
    fromServer(result) {
      const data = result.data as {
        claim: Record<string, unknown> | null;
        events: Record<string, unknown>[];
        now: string;
      };
      return {
        claim: data.claim === null ? null : claimFromView(data.claim),
        events: data.events.map(eventFromView),
        now: new Date(data.now),
      };
    },
    render(answer: { claim: Claim | null; events: BatonEvent[]; now: Date }, p): Rendered {
      const { key } = p.input;
      const { claim, events, now } = answer;
      const verdict = shown(key, answer);
      if (!verdict.ok || claim === null)
        return {
          ok: false,
          json: { ok: false, code: verdict.ok ? undefined : verdict.code, key, claim: null, events },
          text: verdict.ok ? "" : verdict.message,
        };
      return { ok: true, json: { ok: true, key, claim, events }, text: () => describeClaim(claim, events, now) };
    },
  },
  list: {
    words: "list",
    summary: "claims (default: live ones)",
    flags: [
      {
        flag: "--state",
        value: "states",
        field: "state",
        type: "list",
        choices: [...CLAIM_STATES, "all"],
        refusal: { name: "state" },
        description: "active, expired, completed, released, abandoned, all (comma-separated)",
      },
      {
        flag: "--agent",
        value: "agent",
        field: "agent",
        type: "string",
        parse: "agent",
        description: "only this agent's claims",
      },
      { flag: "--mine", field: "mine", type: "boolean", description: "only my claims (--as)" },
      {
        flag: "--prefix",
        value: "prefix",
        field: "prefix",
        type: "string",
        description: "only keys starting with this",
      },
      {
        flag: "--limit",
        value: "n",
        field: "limit",
        type: "number",
        min: 1,
        max: 100_000,
        default: 1000,
        refusal: { name: "limit", invalid: "expected an integer from 1 to 100000" },
        description: "at most n claims (default 1000)",
      },
    ],
    conflicts: [["--mine", "--agent"]],
    agent: { when: "mine", words: "list --mine" },
    async local(baton, p) {
      const { state, mine, prefix, limit } = p.input;
      const agent = mine === true ? p.agent : p.input.agent;
      const claims = await baton.list({
        ...defined({ agent, prefix, limit }),
        ...(state === undefined ? {} : { state: state.includes("all") ? "all" : (state as Claim["state"][]) }),
      });
      return { claims, now: await baton.now() };
    },
    fromServer(result) {
      const data = result.data as { claims: Record<string, unknown>[]; now: string };
      return { claims: data.claims.map(claimFromView), now: new Date(data.now) };
    },
    render(answer: { claims: Claim[]; now: Date }, p): Rendered {
      const { claims, now } = answer;
      return {
        ok: true,
        json: { ok: true, claims },
        text: () =>
          claims.length === 0
            ? p.input.state === undefined
              ? "no live claims"
              : "no claims"
            : table(
                ["KEY", "AGENT", "TOKEN", "STATE", "WHEN"],
                claims.map((c) => [c.key, c.agent, String(c.token), c.state, relative(c, now)]),
              ),
      };
    },
  },
  log: {
    words: "log",
    summary: "the audit log: every grant, denial, renewal, completion, release, abandon, reap",
    args: [{ ...keyArgument, optional: true }],
    flags: [
      {
        flag: "--agent",
        value: "agent",
        field: "agent",
        type: "string",
        parse: "agent",
        description: "only this agent's events",
      },
      {
        flag: "--since",
        value: "duration",
        field: "since",
        type: "duration",
        description: "only events this recent, e.g. 2h",
      },
      {
        flag: "--kind",
        value: "kinds",
        field: "kind",
        type: "list",
        choices: EVENT_KINDS,
        refusal: { name: "event kind" },
        description: "only these kinds (comma-separated)",
      },
      {
        flag: "--limit",
        value: "n",
        field: "limit",
        type: "number",
        min: 1,
        max: 100_000,
        default: 100,
        refusal: { name: "limit", invalid: "expected an integer from 1 to 100000" },
        description: "the newest n events (default 100); with --after, the next n",
      },
      {
        flag: "--after",
        value: "id",
        field: "after",
        type: "number",
        min: 0,
        refusal: { invalid: "an event id (0 or more)" },
        description: "only events after this event id (a cursor: the last id you saw)",
      },
      {
        flag: "--follow",
        type: "boolean",
        description: "keep printing events as they happen, until interrupted (--json: one event per line)",
      },
    ],
    async local(baton, p) {
      if (p.flags.follow === true) {
        const { followLog } = await import("./commands.js");
        await followLog(baton, ...followArguments(p));
        return undefined;
      }
      const { key, agent, kind, since, after, limit } = p.input;
      return { events: await baton.log(defined({ key, agent, kind, since, after, limit })) };
    },
    // --follow: the log, then the server's event stream (/v1/events).
    async remote(api, p, call) {
      if (p.flags.follow !== true) return call();
      const { followServerLog } = await import("./commands.js");
      await followServerLog(api, ...followArguments(p));
      return undefined;
    },
    fromServer(result) {
      return { events: (result.data as { events: Record<string, unknown>[] }).events.map(eventFromView) };
    },
    render(answer: { events: BatonEvent[] }): Rendered {
      const { events } = answer;
      return {
        ok: true,
        json: { ok: true, events },
        text: () => (events.length === 0 ? "no events" : events.map(describeEvent).join("\n")),
      };
    },
  },
  next: {
    words: "next",
    summary: "select and claim the best ready task in one step",
    flags: [
      { flag: "--category", value: "name", field: "category", type: "string", description: "only this category" },
      {
        flag: "--explain",
        type: "boolean",
        description: "show the top candidates and each term of their score",
      },
      { flag: "--dry-run", field: "dryRun", type: "boolean", description: "rank only; claim nothing" },
      {
        flag: "--seed",
        value: "n",
        field: "seed",
        type: "number",
        min: 0,
        max: 9_999_999_999,
        refusal: { invalid: "" },
        description: "seed the category sampling (reproducible)",
      },
      ttl("lease on the task (default 60m)"),
    ],
    agent: true,
    prepare(p) {
      p.input.dryRun = p.input.dryRun === true;
    },
    // A task's paths are claimed in this checkout's repository (null outside one), as here.
    async beforeServer(p) {
      const { CHECKOUT_PATHS } = await import("../../workspace/checkout.js");
      p.input.repo = await CHECKOUT_PATHS.repository({});
    },
    local(baton, p) {
      const { category, seed, dryRun, ttl: lease } = p.input;
      return baton.next({ as: as(p), ...defined({ category, seed, dryRun, ttl: lease }) });
    },
    // --explain: the ranking after the message (the server sends it too: the same table either way).
    render(answer: NextAnswer, p): Rendered {
      const message = `${answer.message}${p.flags.explain === true ? explanation(answer) : ""}`;
      return { ok: answer.ok, json: inLibraryOrder({ ...answer, message }), text: message };
    },
  },
  paths_claim: {
    words: "paths claim",
    summary: "claim path patterns: all or nothing; conflicts are listed",
    args: [
      {
        name: "patterns",
        field: "paths",
        variadic: true,
        description: "files (src/a.ts), folders (src/auth/), globs (src/**/*.ts); relative to here",
      },
    ],
    flags: [
      {
        flag: "--shared",
        field: "shared",
        type: "boolean",
        description: "shared: conflicts only with exclusive claims (default exclusive)",
      },
      ttl("lease length (default 30m)"),
      {
        flag: "--reason",
        value: "text",
        field: "reason",
        type: "string",
        parse: "text",
        description: "why, shown to agents who meet the claim",
      },
      {
        flag: "--advisory",
        field: "advisory",
        type: "boolean",
        description: "grant despite conflicts, reporting them (never the default)",
      },
      repoFlag,
    ],
    agent: true,
    // Patterns and the repository are resolved against this checkout (workspace), then sent.
    handler: async (args, flags) => (await import("./paths.js")).claim(args[0] as string[], flags),
    throughServer: true,
  },
  paths_release: {
    words: "paths release",
    summary: "release my path claims (no pattern: all of mine here)",
    args: [{ name: "patterns", field: "paths", variadic: true, optional: true }],
    flags: [
      {
        flag: "--commit",
        value: "sha",
        field: "commit",
        type: "string",
        parse: "commit",
        description: "the commit that finished the change",
      },
      repoFlag,
    ],
    agent: true,
    handler: async (args, flags) => (await import("./paths.js")).release(args[0] as string[], flags),
    throughServer: true,
  },
  paths_renew: {
    words: "paths renew",
    summary: "extend my live path claims (no pattern: all of mine here)",
    args: [{ name: "patterns", field: "paths", variadic: true, optional: true }],
    flags: [ttl("new lease length from now (default 30m)"), repoFlag],
    agent: true,
    handler: async (args, flags) => (await import("./paths.js")).renew(args[0] as string[], flags),
    throughServer: true,
  },
  paths_list: {
    words: "paths list",
    summary: "path claims in this repository (default: live ones)",
    flags: [
      {
        flag: "--state",
        value: "states",
        field: "state",
        type: "list",
        choices: [...CLAIM_STATES, "all"],
        description: "active, expired, completed, released, abandoned, all (comma-separated)",
      },
      { flag: "--agent", value: "agent", field: "agent", type: "string", description: "only this agent's claims" },
      { flag: "--mine", field: "mine", type: "boolean", description: "only my claims (--as)" },
      { flag: "--all-repos", field: "allRepos", type: "boolean", description: "every repository in the registry" },
      {
        flag: "--limit",
        value: "n",
        field: "limit",
        type: "number",
        min: 1,
        max: 100_000,
        description: "at most n claims (default 1000)",
      },
      repoFlag,
    ],
    agent: { when: "mine", words: "paths list --mine" },
    // The repository is this checkout's (workspace); through a server its identity is sent.
    handler: async (_args, flags) => (await import("./paths.js")).list(flags),
    throughServer: true,
  },
  gate_check: {
    words: "gate check",
    summary: "exit 0 when the gate was not marked in the window, 1 (who, when, skips since) when it was",
    args: [{ name: "key", field: "key", parse: "gate-key" }],
    flags: [windowFlag, markerDirFlag],
    prepare: markerDir,
    beforeServer: noMarkersRemotely,
    local: (baton, p) =>
      baton.gateCheck(p.input.key, defined({ window: p.input.window, markers: p.extra.markers as never })),
    fromServer: (result) => ({ ...(result.data as { done: boolean; mark: unknown }), message: result.message }),
    // Exit 0: not done (go ahead); 1: done.
    render: (answer: { done: boolean; message: string }, p): Rendered => ({
      ok: !answer.done,
      json: { ok: !answer.done, key: p.input.key, ...answer },
      text: answer.message,
    }),
  },
  gate_mark: {
    words: "gate mark",
    summary: "mark the gate done now, without running anything",
    args: [{ name: "key", field: "key", parse: "gate-key" }],
    flags: [windowFlag, markerDirFlag, note("what was done")],
    agent: true,
    prepare: markerDir,
    beforeServer: noMarkersRemotely,
    // Marked already: the denial's code, as the catalogue answers it.
    async local(baton, p) {
      const r = await baton.gates.mark(p.input.key, {
        as: as(p),
        ...defined({ note: p.input.note, window: p.input.window, markers: p.extra.markers as never }),
      });
      return r.ok ? r : { ...r, code: "GATE_MARKED" };
    },
  },
  gate_list: {
    words: "gate list",
    summary: "gates marked recently, newest first, with the skips since each mark",
    flags: [
      {
        flag: "--since",
        value: "duration",
        field: "since",
        type: "duration",
        description: "how far back (default 24h)",
      },
    ],
    async prepare(p) {
      // The line's skip text is the gate service's (loaded for the gate commands only).
      p.extra.skipText = (await import("../../services/gates.js")).skipText;
    },
    local: async (baton, p) => ({ ok: true, marks: await baton.gates.list(defined({ since: p.input.since })) }),
    fromServer(result) {
      const views = (result.data as { marks: Record<string, unknown>[] }).marks;
      const date = (value: unknown): Date => new Date(String(value));
      const marks = views.map((view) => {
        const last = view.lastSkip as Record<string, unknown> | null;
        return { ...view, at: date(view.at), lastSkip: last === null ? null : { ...last, at: date(last.at) } };
      });
      return { ok: true, marks };
    },
    render(answer: { ok: true; marks: GateMarkWithSkips[] }, p): Rendered {
      const skipText = p.extra.skipText as (mark: GateMarkWithSkips) => string;
      const line = (m: GateMarkWithSkips): string =>
        `${isoSeconds(m.at)}  ${m.key}  ${m.agent}${m.command ? `  ${m.command}` : ""}${m.note ? `  (${m.note})` : ""}${skipText(m)}`;
      return {
        ok: true,
        json: answer,
        text: answer.marks.length === 0 ? "no gate fired in the window" : answer.marks.map(line).join("\n"),
      };
    },
  },
  gate_forget: {
    words: "gate forget",
    summary: "forget a gate's mark so it can fire again (logged)",
    args: [{ name: "key", field: "key", parse: "gate-key" }],
    flags: [
      {
        flag: "--window",
        value: "duration",
        type: "string",
        description: "accepted as the other gate commands take it; unused",
      },
      markerDirFlag,
    ],
    agent: true,
    prepare: markerDir,
    local: (baton, p) =>
      baton.gates.forget(p.input.key, { as: as(p), ...defined({ markers: p.extra.markers as never }) }),
    // The marker file is this machine's: removed here, then the registry's mark forgotten on the server.
    async remote(api, p) {
      const { forgetAnswer } = await import("../../services/gates.js");
      const markers = p.extra.markers as { remove(key: string): boolean } | undefined;
      const removed = markers?.remove(p.input.key) ?? false;
      const result = await api.gateForget({ key: p.input.key });
      const outcome = (result.data as { outcome?: string } | undefined)?.outcome;
      return forgetAnswer(
        p.input.key,
        outcome === "forgotten" || outcome === "unmarked"
          ? { outcome }
          : { outcome: "refused", code: result.code ?? "CLAIM_HELD", message: result.message },
        removed,
      );
    },
  },
  gate_lock: {
    // The operation is one step of a gate run; the command runs here (gate-commands.ts).
    words: "gate run",
    summary: "run a command once per window: skip if marked or running elsewhere, mark on success",
    args: [
      {
        name: "key",
        description: "the gate, e.g. notify:tekla/sven-auth (optional with --key-from-content)",
        optional: true,
      },
      { name: "command", description: "after --: the command and its arguments", variadic: true, optional: true },
    ],
    flags: [
      windowFlag,
      markerDirFlag,
      {
        flag: "--ttl",
        value: "duration",
        type: "string",
        description: "lock lease while the command runs, renewed (default 2m)",
      },
      {
        flag: "--wait",
        value: "duration",
        type: "string",
        description: "when a sibling is running it, wait this long for its outcome (default 0s)",
      },
      { flag: "--quiet", short: "-q", type: "boolean", description: "print nothing when skipped" },
      { flag: "--strict", type: "boolean", description: "exit 1 when skipped" },
      {
        flag: "--once-only",
        type: "boolean",
        description: "mark before running: at most once (default: at least once, mark after success)",
      },
      {
        flag: "--key-from-content",
        type: "boolean",
        description: "the gate is a hash of the command's arguments and stdin; KEY becomes a label",
      },
      { flag: "--note", value: "text", type: "string", description: "recorded with the mark" },
    ],
    agent: true,
    // Every registry step goes through the library here, or through the server (BATON_URL).
    handler: async (args, flags) =>
      (await import("./gate-commands.js")).run(args[0] as string | undefined, (args[1] as string[]) ?? [], flags),
    throughServer: true,
  },
  context: {
    words: "context",
    summary: "one block for a session prompt: rules, my claims, loose ends, others, recent completions",
    flags: [
      { flag: "--format", value: "format", type: "enum", choices: ["md", "json"], description: "md (default) or json" },
      {
        flag: "--budget",
        value: "chars",
        field: "budget",
        type: "number",
        refusal: { invalid: "a number of characters" },
        description: "character budget (default 4000); my claims and supply/contention are never cut",
      },
      {
        flag: "--rules-file",
        value: "file",
        type: "string",
        description: "the operating rules (default .baton/RULES.md at the repository root)",
      },
    ],
    prepare(p) {
      const format = (p.flags.format as string | undefined) ?? (p.flags.json === true ? "json" : "md");
      if (format !== "md" && format !== "json") {
        throw new BatonError("BAD_OPTION", `invalid --format ${JSON.stringify(format)}: use md or json`);
      }
      p.extra.format = format;
      const file = (p.flags.rulesFile as string | undefined) ?? p.config.rulesFile;
      if (file !== undefined) p.extra.rulesFile = file;
    },
    // The rules are this checkout's: read here, sent with the call (the server reads no file of ours).
    async beforeServer(p) {
      const { readRules, rulesPath } = await import("../../workspace/rules.js");
      const file = p.extra.rulesFile as string | undefined;
      const path = await rulesPath(file === undefined ? {} : { file });
      p.input.rules = { path, text: readRules(path).text };
    },
    local: (baton, p) =>
      baton.context({
        ...defined({
          as: p.config.agent,
          budget: p.input.budget,
          rulesFile: p.extra.rulesFile as string | undefined,
        }),
      }),
    fromServer: (result) => ({ ...(result.data as object), markdown: result.message }),
    // The block as it is (md), or every part but the markdown as JSON (--format json or --json).
    render(answer: { markdown: string }, p): Rendered {
      const { markdown, ...rest } = answer;
      const json = { ok: true, ...rest };
      return { ok: true, json, text: p.extra.format === "json" ? JSON.stringify(json) : markdown };
    },
  },
  note: {
    words: "note",
    summary: "attach a note to a key: what was done, what is next",
    args: [keyArgument, { name: "text", field: "text", parse: "note" }],
    agent: true,
    local: (baton, p) => baton.note(p.input.key, { as: as(p), text: p.input.text }),
    // A note is always taken (exit 0).
    render: (answer: { message: string }): Rendered => ({ ok: true, json: answer, text: answer.message }),
  },
  verify: {
    words: "verify",
    summary: "record that you verified completed work (instead of redoing it)",
    args: [keyArgument],
    flags: [note("what you checked")],
    agent: true,
    local: (baton, p) => baton.verify(p.input.key, { as: as(p), ...defined({ note: p.input.note }) }),
  },
  supply: {
    words: "supply",
    summary:
      "ready, claimed, blocked, done; denials per agent; every verdict that applies (drained, contended) or healthy",
    local: (baton) => baton.supply(),
    fromServer: (result) => ({ ...(result.data as object), message: result.message }),
    render: (answer: { message: string }): Rendered => ({
      ok: true,
      json: { ok: true, ...answer },
      text: answer.message,
    }),
  },
  task_add: {
    words: "task add",
    summary: "add a task (its work key is task:ID)",
    args: [{ name: "id", field: "id", parse: "task-id" }],
    flags: taskFlags({
      title: "task add needs --title",
      blockedBy: "tasks that must be done first",
      paths: "repository paths it touches (claimed with it by next)",
    }),
    beforeServer: sentPaths,
    local(baton, p) {
      const { id, title, category, priority, blockedBy, paths, assignee, meta } = p.input;
      return baton.tasks.put(
        [
          {
            id,
            title,
            ...defined({ category, priority }),
            blockedBy: blockedBy ?? [],
            paths: paths ?? [],
            assignee: assignee ?? null,
            meta: meta ?? null,
          },
        ],
        "add",
      );
    },
  },
  task_import: {
    words: "task import",
    summary: "import a folder of markdown tasks, or gh issue list JSON (idempotent)",
    args: [
      { name: "path", description: "a folder of .md files, a .md file, or a .json file (- for stdin with --github)" },
    ],
    flags: [
      {
        flag: "--github",
        type: "boolean",
        description: "the input is gh issue list --json number,title,labels,state,url",
      },
    ],
    // The file is read and every task checked here; then one transaction, here or on the server.
    handler: async (args, flags) => (await import("./tasks.js")).importTasks(args[0] as string, flags),
    throughServer: true,
  },
  task_update: {
    words: "task update",
    summary: "change a task's fields",
    args: [{ name: "id", field: "id", parse: "task-id" }],
    flags: taskFlags({
      blockedBy: "tasks that must be done first (replaces the blockers)",
      paths: "repository paths it touches (replaces them)",
    }),
    beforeServer: sentPaths,
    // Only the fields given, applied by the store in one transaction: a concurrent edit of another field survives.
    local(baton, p) {
      const { id, ...fields } = p.input;
      return baton.tasks.update(id, defined(fields));
    },
  },
  task_show: {
    words: "task show",
    summary: "one task",
    args: [{ name: "id", field: "id", parse: "task-id" }],
    local: (baton, p) => baton.tasks.find(p.input.id),
    fromServer: (result) => {
      const task = (result.data as { task?: Task } | undefined)?.task ?? null;
      return result.ok ? { ok: true, task, message: result.message } : { ...result, task: null };
    },
    render: (answer: { ok: boolean; code?: string; task: Task | null; message: string }): Rendered =>
      answer.task === null
        ? { ok: false, json: { ok: false, code: answer.code, task: null }, text: answer.message }
        : { ok: true, json: { ok: true, task: answer.task }, text: describeTask(answer.task) },
  },
  task_list: {
    words: "task list",
    summary: "tasks by state and category",
    flags: [
      {
        flag: "--state",
        value: "states",
        field: "state",
        type: "list",
        choices: TASK_STATES,
        refusal: { name: "task state", invalid: "ready, blocked, claimed, done" },
        description: "ready, blocked, claimed, done (comma-separated)",
      },
      { flag: "--category", value: "name", field: "category", type: "string" },
      {
        flag: "--limit",
        value: "n",
        field: "limit",
        type: "number",
        min: 1,
        max: 100_000,
        default: 1000,
        refusal: { name: "limit", invalid: "expected an integer from 1 to 100000" },
        description: "at most n tasks (default 1000)",
      },
    ],
    local(baton, p) {
      const { state, category, limit } = p.input;
      return baton.tasks.list(defined({ state, category, limit }));
    },
    fromServer: (result) => (result.data as { tasks: Task[] }).tasks,
    render: (tasks: Task[]): Rendered => ({
      ok: true,
      json: { ok: true, tasks },
      text: () =>
        tasks.length === 0
          ? "no tasks"
          : table(
              ["id", "state", "priority", "category", "title"],
              tasks.map((t) => [t.id, t.state, String(t.priority), t.category, t.title]),
            ),
    }),
  },
  task_done: {
    words: "task done",
    summary: "mark a task done, completing a claim on task:ID",
    args: [{ name: "id", field: "id", parse: "task-id" }],
    local: (baton, p) => baton.tasks.done(p.input.id, actingIfSet(p)),
  },
  task_reopen: {
    words: "task reopen",
    summary: "open a done task again: next and claim take it again",
    args: [{ name: "id", field: "id", parse: "task-id" }],
    local: (baton, p) => baton.tasks.reopen(p.input.id, actingIfSet(p)),
  },
  probe: {
    words: "probe",
    summary: "before starting: is anyone else on these paths? (commits, claims, other worktrees)",
    args: [{ name: "paths", field: "paths", variadic: true, description: "files, folders or globs, relative to here" }],
    flags: [
      {
        flag: "--since",
        value: "duration",
        field: "since",
        type: "duration",
        description: "how far back to look for commits (default 30m)",
      },
      { flag: "--fetch", type: "boolean", description: "fetch first and look at the upstream branch too" },
      {
        flag: "--remote",
        value: "name",
        type: "string",
        commanderDefault: "origin",
        description: "the remote for --fetch",
      },
    ],
    // Git and the working tree are this machine's (workspace).
    handler: async (args, flags) => (await import("./git-guards.js")).probe(args[0] as string[], flags),
  },
  sync_check: {
    words: "sync-check",
    summary: "before a deploy: refuse when behind, diverged, dirty, or a held claim is lost",
    flags: [
      {
        flag: "--remote",
        value: "name",
        type: "string",
        commanderDefault: "origin",
        description: "the remote to compare with",
      },
      {
        flag: "--branch",
        value: "name",
        type: "string",
        description: "the remote branch (default: the branch checked out)",
      },
      { flag: "--allow-dirty", type: "boolean", description: "do not refuse uncommitted changes" },
      {
        flag: "--holding",
        value: "claims",
        field: "holding",
        type: "list",
        variadic: true,
        description: "KEY or KEY:TOKEN: claims this agent must still hold (under this token)",
      },
      {
        flag: "--fetch",
        field: "fetch",
        type: "boolean",
        negate: true,
        description: "compare with the remote-tracking branch as it is, without fetching",
      },
    ],
    handler: async (_args, flags) => (await import("./git-guards.js")).syncCheck(flags),
  },
};

/** The entry whose words are `words` (`gate check`), if any. */
export function operationByWords(words: string): keyof CliOperations | undefined {
  return (Object.keys(CLI_OPERATIONS) as (keyof CliOperations)[]).find((name) => CLI_OPERATIONS[name].words === words);
}

export type { OperationResult };

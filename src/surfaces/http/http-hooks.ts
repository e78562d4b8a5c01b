/**
 * Harness hooks over HTTP: `POST /v1/hooks/<event>` answers what `baton hook claude <event>`
 * prints on stdout, for harnesses that POST their hook events to a URL (Claude Code's
 * `type: "http"` hooks), so a remote fleet needs no Baton install for them. The bearer token
 * decides the agent (not `BATON_AGENT` or the session id); the policy (claim-on-edit,
 * protected paths, write scopes, hookFailure, hookBudget) and the rules are the server's.
 *
 * Which handlers run on a server — only what needs no checkout on the agent's machine:
 * - `session-start`: yes. The context and the rules come from the server's store and files.
 * - `session-end`: yes. Abandons the agent's live work claims; releases its path claims in the
 *   repository named by `?repo=` (without it, work claims only).
 * - `pre-tool-use`: only with `?repo=<id>` (the repository's identity, `root:<root commit>`):
 *   the checkout's root is `?root=` or the payload's `cwd`, and the edited files are made
 *   repository-relative from the payload's paths as written (a server cannot resolve the
 *   agent's symbolic links or find its `.git`; the CLI hook does both).
 * Not offered: the git hooks (pre-commit, post-commit guards) — they read the staged tree.
 *
 * Failure semantics (documented in the README): a failure Baton can answer (the store
 * unavailable, a bad payload, no `?repo=` for an edit) is a 200 with the CLI's failure
 * answer — fail open, or with `hookFailure: "closed"` an edit refused — and the reason in the
 * `x-baton-hook-failure` header. A failure before Baton can answer (the server unreachable,
 * no or a bad token: 401) is a non-2xx or a connection error, which Claude Code treats as a
 * non-blocking error: the session carries on, whatever hookFailure says.
 */
import { isAbsolute, posix, relative, resolve, sep } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Baton } from "../../baton.js";
import { BatonError, ERROR_CODES, isBatonError } from "../../core/errors.js";
import {
  beforeEdit,
  contextBudget,
  endSession,
  failureAnswer,
  HARNESSES,
  type Harness,
  type HarnessPolicy,
  type HookAnswer,
  type HookEvent,
  HOOK_EVENTS,
  parsePayload,
  renderAnswer,
  sessionContext,
} from "../../services/harness.js";
import { readRules, rulesPath } from "../../workspace/rules.js";
import type { Identity } from "../../services/tokens.js";

/** The server's hook policy: `.baton/config.json`'s harness settings where the server runs. */
export interface HookRouteOptions {
  readonly policy: HarnessPolicy & { readonly hookFailure: "open" | "closed"; readonly hookBudget: number };
  /** The rules file (default: `.baton/RULES.md` at the root of the server's repository, or its cwd). */
  readonly rulesFile?: string | undefined;
  /** The server's working directory, for the rules file. */
  readonly cwd: string;
}

/** The defaults of `.baton/config.json`'s harness settings (README, "Harness hooks"). */
const DEFAULT_POLICY: HookRouteOptions["policy"] = {
  claimOnEdit: "all",
  protectedPaths: [],
  writeScopes: {},
  hookFailure: "open",
  hookBudget: 8000,
  editTtl: "30m",
};

/** Past this a hook answers as failed, before the harness's own timeout (as the CLI hook). */
const HOOK_DEADLINE_MS = 10_000;

/** A repository id as the stores hold it: `root:<hex>` or `dir:<path>`. */
const REPO_ID = /^(root:[0-9a-f]{7,64}|dir:\S.*)$/;

function query(request: FastifyRequest): Record<string, string | undefined> {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(q))
    out[key] = typeof value === "string" && value !== "" ? value : undefined;
  return out;
}

/** The payload's targets inside `root`, repository-relative with `/` (lexically: no checkout here). */
function filesIn(targets: readonly string[], cwd: string, root: string): string[] {
  const out: string[] = [];
  for (const target of targets) {
    const rel = relative(root, isAbsolute(target) ? target : resolve(cwd, target));
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) continue;
    const file = posix.normalize(rel.split(sep).join("/"));
    if (file === ".git" || file.startsWith(".git/")) continue;
    if (!out.includes(file)) out.push(file);
  }
  return out;
}

/** Header-safe one line (the failure reason): printable ASCII only. */
function headerLine(text: string): string {
  return (text.split("\n")[0] ?? "").replace(/[^\x20-\x7e]/g, "?").slice(0, 500);
}

export function registerHookRoutes(app: FastifyInstance, baton: Baton, options?: HookRouteOptions): void {
  const policy = options?.policy ?? DEFAULT_POLICY;
  const cwd = options?.cwd ?? process.cwd();
  let rules: Promise<string> | undefined;
  const rulesFile = (): Promise<string> =>
    (rules ??= rulesPath({ cwd, ...(options?.rulesFile === undefined ? {} : { file: options.rulesFile }) }));

  const decide = async (
    harness: Harness,
    event: HookEvent,
    body: unknown,
    identity: Identity,
    q: Record<string, string | undefined>,
  ) => {
    const payload = parsePayload(harness, JSON.stringify(body ?? {}));
    if (event === "pre-tool-use" && payload.targets === null) return renderAnswer(harness, { event, deny: null });
    const agent = identity.agent;
    if (event !== "session-start" && identity.role === "read-only") {
      throw new BatonError("FORBIDDEN", `the ${event} hook changes claims; this token is read-only`);
    }
    const repoId = q.repo;
    if (repoId !== undefined && !REPO_ID.test(repoId)) {
      throw new BatonError("BAD_INPUT", `?repo=${JSON.stringify(repoId)} is not a repository id (root:<root commit>)`);
    }
    if (event === "pre-tool-use") {
      if (repoId === undefined) {
        throw new BatonError(
          "BAD_INPUT",
          "pre-tool-use over HTTP needs the repository: add ?repo=root:<root commit> to the hook's URL (git rev-list --max-parents=0 HEAD)",
        );
      }
      const base = payload.cwd ?? q.root ?? null;
      const root = q.root ?? payload.cwd ?? null;
      if (base === null || root === null || !isAbsolute(root) || !isAbsolute(base)) {
        throw new BatonError(
          "BAD_INPUT",
          "pre-tool-use over HTTP needs the checkout's root: the payload's cwd or ?root=/absolute/path",
        );
      }
      const files = filesIn(payload.targets ?? [], base, root);
      if (files.length === 0) return renderAnswer(harness, { event, deny: null });
      const reason = `claim-on-edit (${harness} session${payload.sessionId ? ` ${payload.sessionId.slice(0, 12)}` : ""}, over HTTP)`;
      const decision = await beforeEdit(baton.store, { repo: repoId, agent, files, policy, reason });
      return decision.allow
        ? renderAnswer(harness, { event, deny: null, note: decision.message })
        : renderAnswer(harness, { event, deny: decision.message });
    }
    if (event === "session-start") {
      const path = await rulesFile();
      const read = readRules(path);
      const budget = contextBudget(policy.hookBudget, read.text?.length ?? 0);
      const markdown = (await baton.context({ as: agent, cwd, budget, rulesFile: path })).markdown;
      const context = sessionContext({
        agent,
        harness,
        budget: policy.hookBudget,
        rules: read,
        context: markdown,
        policy,
        identityPersisted: false,
      });
      return renderAnswer(harness, { event, context });
    }
    const ended = await endSession(baton.store, { repo: repoId ?? null, agent });
    return renderAnswer(harness, { event, note: ended.message });
  };

  app.post("/v1/hooks/:event", async (request: FastifyRequest, reply: FastifyReply) => {
    const identity = request.identity as Identity;
    const { event: name } = request.params as { event: string };
    const q = query(request);
    const harness = (q.harness ?? "claude") as Harness;
    const event = name as HookEvent;
    if (!HOOK_EVENTS.includes(event) || !HARNESSES.includes(harness)) {
      return reply.code(ERROR_CODES.UNKNOWN_ROUTE.http).send({
        ok: false,
        code: "UNKNOWN_ROUTE",
        message: `no hook ${JSON.stringify(name)}${q.harness === undefined ? "" : ` for ${q.harness}`}: POST /v1/hooks/session-start|pre-tool-use|session-end[?harness=claude|codex|gemini]`,
      });
    }
    let timer: NodeJS.Timeout | undefined;
    let answer: HookAnswer;
    let failure: string | null = null;
    try {
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new BatonError("STORE_BUSY", `no answer within ${HOOK_DEADLINE_MS / 1000} s`)),
          HOOK_DEADLINE_MS,
        );
      });
      answer = await Promise.race([decide(harness, event, request.body, identity, q), late]);
    } catch (error) {
      if (isBatonError(error) && error.code === "FORBIDDEN") throw error;
      failure = isBatonError(error)
        ? `${error.code}: ${error.message}`
        : `internal error: ${error instanceof Error ? error.message : String(error)}`;
      answer = failureAnswer(harness, event, policy.hookFailure, failure);
    } finally {
      clearTimeout(timer);
    }
    reply.code(200).header("content-type", "application/json; charset=utf-8");
    if (failure !== null) reply.header("x-baton-hook-failure", headerLine(failure));
    return reply.send(answer.stdout);
  });
}

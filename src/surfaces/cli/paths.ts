/**
 * `baton paths claim|release|renew|list` and `baton claim KEY --paths …`. Patterns
 * are resolved against the repository (git) and validated before the store opens.
 */
import type { OperationResult } from "../../api/catalogue.js";
import { parseDuration } from "../../core/duration.js";
import { parseKey } from "../../core/identity.js";
import { parseCommit, parseLimit, parseMeta, parseText } from "../../core/schemas.js";
import type { ClaimState, PathClaim } from "../../core/types.js";
import { parseStates } from "../../services/claims.js";
import { pathTarget } from "../../workspace/checkout.js";
import { requireAgent } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emit, emitNo, type OutputMode, table } from "./output.js";
import { inLibraryOrder, libraryAnswer, pathClaimsOf, ttlText } from "./remote.js";
import { withSession } from "./session.js";
import { isoSeconds as iso } from "../../core/time.js";

function answer(mode: OutputMode, result: { readonly ok: boolean; readonly message: string }): void {
  const json = inLibraryOrder(result as unknown as Record<string, unknown>);
  if (result.ok) emit(mode, json, result.message);
  else emitNo(mode, json, result.message);
}

/** A server's answer as the library's (`alias`: a field the server sends besides the library's). */
function fromServer(result: OperationResult, alias?: string): { readonly ok: boolean; readonly message: string } {
  const answer = libraryAnswer(result);
  if (alias !== undefined) delete answer[alias];
  return answer as { ok: boolean; message: string };
}

interface PathFlags extends CommonFlags {
  shared?: boolean;
  ttl?: string;
  reason?: string;
  advisory?: boolean;
  repo?: string;
}

/**
 * Resolve the repository and normalise the patterns once, against the checkout (the
 * workspace): bad paths never reach the store, and the path services get the identity
 * and repository-relative patterns.
 */
async function repoAndPatterns(patterns: readonly string[] | null, repoFlag: string | undefined) {
  const target = await pathTarget(patterns, { ...(repoFlag === undefined ? {} : { repo: repoFlag }) });
  return { normalized: target.patterns, where: { repo: target.repo } };
}

export function claim(patterns: string[], flags: PathFlags): Promise<void> {
  return withSession(
    flags,
    async (config) => {
      const as = requireAgent(config, "paths claim");
      const ttl = flags.ttl === undefined ? undefined : parseDuration(flags.ttl, { name: "--ttl" });
      const reason = parseText(flags.reason, "--reason");
      const { normalized, where } = await repoAndPatterns(patterns.length === 0 ? [] : patterns, flags.repo);
      return { as, ttl, reason, patterns: normalized ?? [], where };
    },
    async (s, p) => {
      const held = {
        shared: flags.shared === true,
        advisory: flags.advisory === true,
        ...(p.reason === null ? {} : { reason: p.reason }),
      };
      const result = s.api
        ? fromServer(await s.api.pathsClaim({ paths: p.patterns, ...p.where, ...held, ...ttlText(p.ttl) }), "paths")
        : await s.baton.paths.claim(p.patterns, {
            ...p.where,
            as: p.as,
            ...held,
            ...(p.ttl === undefined ? {} : { ttl: p.ttl }),
          });
      answer(s.mode, result);
    },
  );
}

export function release(patterns: string[], flags: CommonFlags & { commit?: string; repo?: string }): Promise<void> {
  return withSession(
    flags,
    async (config) => {
      const as = requireAgent(config, "paths release");
      const commit = parseCommit(flags.commit);
      const { normalized, where } = await repoAndPatterns(patterns, flags.repo);
      return { as, commit, patterns: normalized, where };
    },
    async (s, p) => {
      const commit = p.commit === null ? {} : { commit: p.commit };
      if (s.api) {
        answer(
          s.mode,
          fromServer(
            await s.api.pathsRelease({ ...(p.patterns === null ? {} : { paths: p.patterns }), ...p.where, ...commit }),
          ),
        );
        return;
      }
      const result = await s.baton.paths.release(p.patterns, { ...p.where, as: p.as, ...commit });
      emit(s.mode, { ok: true, ...result }, result.message);
    },
  );
}

export function renew(patterns: string[], flags: CommonFlags & { ttl?: string; repo?: string }): Promise<void> {
  return withSession(
    flags,
    async (config) => {
      const as = requireAgent(config, "paths renew");
      const ttl = flags.ttl === undefined ? undefined : parseDuration(flags.ttl, { name: "--ttl" });
      const { normalized, where } = await repoAndPatterns(patterns, flags.repo);
      return { as, ttl, patterns: normalized, where };
    },
    async (s, p) => {
      if (s.api) {
        answer(
          s.mode,
          fromServer(
            await s.api.pathsRenew({
              ...(p.patterns === null ? {} : { paths: p.patterns }),
              ...p.where,
              ...ttlText(p.ttl),
            }),
          ),
        );
        return;
      }
      const result = await s.baton.paths.renew(p.patterns, {
        ...p.where,
        as: p.as,
        ...(p.ttl === undefined ? {} : { ttl: p.ttl }),
      });
      answer(s.mode, result);
    },
  );
}

interface ListFlags extends CommonFlags {
  state?: string;
  agent?: string;
  mine?: boolean;
  allRepos?: boolean;
  limit?: string;
  repo?: string;
}

export function list(flags: ListFlags): Promise<void> {
  return withSession(
    flags,
    async (config) => {
      const states: ClaimState[] | "all" | undefined =
        flags.state === undefined
          ? undefined
          : flags.state === "all"
            ? "all"
            : parseStates(flags.state.split(",").map((s) => s.trim()) as ClaimState[]);
      const agent = flags.mine === true ? requireAgent(config, "paths list --mine") : flags.agent;
      const limit = parseLimit(flags.limit, 1000);
      const where = flags.allRepos === true ? {} : (await repoAndPatterns(null, flags.repo)).where;
      return { states, agent, limit, where };
    },
    async (s, p) => {
      const filter = { ...(p.agent === undefined ? {} : { agent: p.agent }), limit: p.limit };
      const claims = s.api
        ? pathClaimsOf(
            await s.api.pathsList({
              ...(flags.allRepos === true ? { allRepos: true } : p.where),
              ...filter,
              ...(p.states === undefined ? {} : { state: p.states === "all" ? ["all"] : [...p.states] }),
            }),
          )
        : await s.baton.paths.list({
            ...p.where,
            allRepos: flags.allRepos === true,
            ...filter,
            ...(p.states === undefined ? {} : { state: p.states }),
          });
      emit(s.mode, { ok: true, claims }, () => renderPaths(claims, flags.allRepos === true));
    },
  );
}

function renderPaths(claims: readonly PathClaim[], withRepo: boolean): string {
  if (claims.length === 0) return "no path claims";
  const header = ["pattern", "agent", "mode", "state", "token", "expires", ...(withRepo ? ["repo"] : []), "reason"];
  return table(
    header,
    claims.map((c) => [
      c.pattern,
      c.agent,
      c.mode,
      c.state,
      String(c.token),
      iso(c.expiresAt),
      ...(withRepo ? [c.repo] : []),
      c.reason ?? "",
    ]),
  );
}

/** `baton claim KEY --paths P…`: the work and its paths in one transaction. */
export function claimWithPaths(
  keyInput: string,
  patterns: string[],
  flags: PathFlags & { meta?: string; reopen?: boolean },
): Promise<void> {
  return withSession(
    flags,
    async (config) => {
      const key = parseKey(keyInput);
      const as = requireAgent(config, "claim");
      const ttl = flags.ttl === undefined ? undefined : parseDuration(flags.ttl, { name: "--ttl" });
      const meta = parseMeta(flags.meta);
      const reason = parseText(flags.reason, "--reason");
      const { normalized, where } = await repoAndPatterns(patterns, flags.repo);
      return { key, as, ttl, meta, reason, patterns: normalized ?? [], where };
    },
    async (s, p) => {
      const options = {
        shared: flags.shared === true,
        advisory: flags.advisory === true,
        reopen: flags.reopen === true,
        ...(p.meta === null ? {} : { meta: p.meta }),
        ...(p.reason === null ? {} : { reason: p.reason }),
      };
      const result = s.api
        ? fromServer(await s.api.claim({ key: p.key, paths: p.patterns, ...p.where, ...options, ...ttlText(p.ttl) }))
        : await s.baton.claimWithRepoPaths(p.key, p.patterns, {
            ...p.where,
            as: p.as,
            ...options,
            ...(p.ttl === undefined ? {} : { ttl: p.ttl }),
          });
      answer(s.mode, result);
    },
  );
}

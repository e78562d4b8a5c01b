/**
 * `baton tokens add|list|revoke`: the bearer tokens `baton serve` accepts. Run where the
 * registry is (the store is the root of trust); a token is printed once and stored only
 * as a digest.
 */
import type { CommonFlags } from "./main.js";
import { emit, emitNo, table } from "./output.js";
import { withSession } from "./session.js";
import { isoSeconds as iso } from "../../core/time.js";

export function tokensAdd(agent: string, flags: CommonFlags & { admin?: boolean; readOnly?: boolean }): Promise<void> {
  return withSession(
    flags,
    () => undefined,
    async ({ baton, mode }) => {
      const { token, record } = await baton.tokens.add(agent, {
        ...(flags.admin === undefined ? {} : { admin: flags.admin }),
        ...(flags.readOnly === undefined ? {} : { readOnly: flags.readOnly }),
      });
      emit(
        mode,
        { ok: true, agent: record.agent, role: record.role, id: record.id, token },
        `${token}\n(token ${record.id} for ${record.agent}, ${record.role}; shown once, stored only as a digest: export BATON_TOKEN=…)`,
      );
    },
  );
}

export function tokensList(flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    () => undefined,
    async ({ baton, mode }) => {
      const tokens = await baton.tokens.list();
      emit(mode, { ok: true, tokens }, () =>
        tokens.length === 0
          ? "no tokens (baton tokens add AGENT)"
          : table(
              ["id", "agent", "role", "created", "revoked"],
              tokens.map((t) => [String(t.id), t.agent, t.role, iso(t.createdAt), iso(t.revokedAt)]),
            ),
      );
    },
  );
}

export function tokensRevoke(target: string, flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    () => undefined,
    async ({ baton, mode }) => {
      const answer = await baton.tokens.revokeMatching(target);
      if (!answer.ok) emitNo(mode, { ok: false, revoked: [], code: answer.code }, `no live token matches ${target}`);
      else emit(mode, answer, `revoked ${answer.revoked.map((t) => `token ${t.id} (${t.agent})`).join(", ")}`);
    },
  );
}

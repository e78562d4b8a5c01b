/**
 * Strict near-duplicate claims on PostgreSQL take turns per namespace: while another
 * transaction holds the namespace's advisory lock, a strict claim waits (and has granted
 * nothing); a warn-mode claim and a strict claim in another namespace do not wait.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { quoteIdent } from "../src/store/postgres/pg-migrations.js";
import { strictLockName } from "../src/store/postgres/pg-store.js";
import { freshSchema, testDatabaseUrl } from "./contract/targets.js";

const admin = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
admin.on("error", () => undefined);
afterAll(async () => {
  await admin.end();
});

/** Resolves once some backend of application `baton` waits for an advisory lock (throws after ~10 s). */
async function someoneWaitsForAdvisoryLock(): Promise<void> {
  for (let tries = 0; ; tries++) {
    if (tries > 500) throw new Error("no strict claim waited for its namespace's lock");
    const r = await admin.query(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'baton'`,
    );
    if (r.rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("strict near-duplicate claims on PostgreSQL", () => {
  it("wait for the namespace's lock, so similar strict grants commit one after another", async () => {
    const schema = freshSchema("strict");
    const baton = await openBaton({ databaseUrl: testDatabaseUrl(), schema });
    const holder = await admin.connect();
    try {
      await baton.claim("other:warm-up", { as: "w" });
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock(hashtext($1))", [strictLockName(quoteIdent(schema), "topic")]);
      let settled = false;
      const strict = baton.claim("topic:fleet-dashboard", { as: "a", similar: "strict" }).finally(() => {
        settled = true;
      });
      await someoneWaitsForAdvisoryLock();
      expect(settled).toBe(false);
      expect(await baton.log({ key: "topic:fleet-dashboard" })).toEqual([]);
      // Other namespaces and warn-mode claims do not take the lock.
      expect((await baton.claim("blog:fleet-dashboard", { as: "b", similar: "strict" })).ok).toBe(true);
      expect((await baton.claim("topic:fleet-dashboards", { as: "c" })).ok).toBe(true);
      await holder.query("COMMIT");
      // The strict claim now sees c's similar grant, which has a smaller token: it backs off.
      expect(await strict).toMatchObject({ ok: false, code: "CLAIM_SIMILAR", holder: "c" });
    } finally {
      holder.release();
      await baton.close();
    }
  });
});

/**
 * reap against a concurrent renewer, in two OS processes, on both stores: a claim renewed
 * (or granted again) before reap decides is never reaped, and a reaped claim was expired
 * when reap decided, with the token it had then. Checked on the audit log, where each key's
 * events are in decision order (every operation on a key holds its row, or the store's write
 * lock, while it decides and logs).
 */
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openBaton } from "../../src/index.js";
import { LIB, ROOT, runScript, startLine } from "../helpers.js";
import { TARGETS } from "./targets.js";

const WORKER = join(ROOT, "test", "workers", "reap-race-worker.mjs");
const KEYS = 8;

describe.each(TARGETS)("reap races a renewer on $name", (target) => {
  it("never reaps a claim renewed before it decided; reaps expired ones with their current token", async () => {
    const options = { ...target.batonOptions(), busyTimeout: "30s" };
    const baton = await openBaton(options);
    try {
      for (let i = 0; i < KEYS; i++) await baton.claim(`reap-race:${i}`, { as: "renewer", ttl: 20, similar: "off" });
      const start = startLine(2);
      const run = (role: string) =>
        runScript(WORKER, [pathToFileURL(LIB).href, JSON.stringify(options), role, String(KEYS), start.dir, "2500"]);
      const [renewals, reaped] = (await start.release([run("renewer"), run("reaper")])).map((out) =>
        Number(out.trim()),
      );
      const log = await baton.log({ limit: 100_000 });
      expect(log.length, "the whole log fits in one read").toBeLessThan(100_000);
      // Replay each key's log: the lease every grant or renewal set, then check each reap against it.
      const lease = new Map<string, { token: number; expiresAt: number; live: boolean }>();
      let reapedEvents = 0;
      for (const event of log) {
        if (!event.key.startsWith("reap-race:")) continue;
        const at = event.at.getTime();
        if (event.kind === "granted" || event.kind === "renewed") {
          lease.set(event.key, {
            token: event.token as number,
            expiresAt: at + Number(event.detail?.ttlMs),
            live: true,
          });
        } else if (event.kind === "reaped") {
          reapedEvents++;
          const held = lease.get(event.key);
          expect(held?.live, `${event.key} reaped twice or never granted`).toBe(true);
          expect(event.token, `${event.key} reaped with another token than the one it held`).toBe(held?.token);
          expect(
            held?.expiresAt,
            `${event.key} reaped at ${at} while its lease ran to ${held?.expiresAt}`,
          ).toBeLessThanOrEqual(at);
          lease.set(event.key, { ...(held as { token: number; expiresAt: number }), live: false });
        }
      }
      expect(reapedEvents).toBe(reaped);
      // The race happened: both sides acted.
      expect(reaped).toBeGreaterThan(0);
      expect(renewals).toBeGreaterThan(0);
      console.log(`${target.name}: ${renewals} renewals, ${reaped} reaped, no reap of a live claim`);
    } finally {
      await baton.close();
    }
  });
});

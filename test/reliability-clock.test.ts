/**
 * The SQLite clock: decisions never use a time earlier than the latest time the store
 * recorded (its high-water mark), so a process whose clock is stepped back can neither
 * hand out a lease that already expired for everyone else nor shorten a renewing
 * holder's lease. Two handles on one file, each with its own injected clock.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { tempDir } from "./helpers.js";

const MIN = 60_000;
const T0 = Date.UTC(2030, 0, 1);

describe("a clock stepped back (SQLite)", () => {
  it("a lease granted by a process whose clock is an hour behind is not already expired for the others", async () => {
    const db = join(tempDir(), "clock.db");
    const now = await openBaton({ db, clock: () => T0 });
    const behind = await openBaton({ db, clock: () => T0 - 60 * MIN });
    try {
      expect((await now.claim("other:1", { as: "a", ttl: "1m" })).ok).toBe(true); // the store has seen T0
      const granted = await behind.claim("k:1", { as: "late", ttl: "30m" });
      expect(granted.ok).toBe(true);
      if (granted.ok) expect(granted.claim.expiresAt.getTime()).toBe(T0 + 30 * MIN);
      // Before the fix the lease ended at T0-30m: expired at once, and granted again here.
      const rival = await now.claim("k:1", { as: "rival", ttl: "30m" });
      expect(rival).toMatchObject({ ok: false, code: "CLAIM_HELD" });
      expect(await now.check("k:1", granted.ok ? granted.claim.token : 0)).toMatchObject({ ok: true });
    } finally {
      await now.close();
      await behind.close();
    }
  });

  it("a renewal through a process whose clock is behind does not shorten the holder's lease", async () => {
    const db = join(tempDir(), "clock.db");
    const now = await openBaton({ db, clock: () => T0 });
    const behind = await openBaton({ db, clock: () => T0 - 60 * MIN });
    try {
      const first = await now.claim("k:1", { as: "holder", ttl: "20m" });
      expect(first.ok).toBe(true);
      const renewed = await behind.renew("k:1", { as: "holder", ttl: "20m" });
      // Before the fix the renewal set the lease's end to T0-40m: in the past for everyone else.
      expect(renewed.ok).toBe(true);
      if (renewed.ok && first.ok)
        expect(renewed.claim.expiresAt.getTime()).toBeGreaterThanOrEqual(first.claim.expiresAt.getTime());
      expect(await now.claim("k:1", { as: "rival" })).toMatchObject({ ok: false, code: "CLAIM_HELD" });
    } finally {
      await now.close();
      await behind.close();
    }
  });

  it("a clock running ahead moves the store's time forward for everyone: leases end early, but never two holders", async () => {
    const db = join(tempDir(), "clock.db");
    const now = await openBaton({ db, clock: () => T0 });
    const ahead = await openBaton({ db, clock: () => T0 + 45 * MIN });
    try {
      const held = await now.claim("k:1", { as: "holder", ttl: "30m" });
      expect(held.ok).toBe(true);
      // The fast process sees the lease expired and takes the key, with a larger token.
      const taken = await ahead.claim("k:1", { as: "fast", ttl: "30m" });
      expect(taken.ok).toBe(true);
      // From then on the slow process decides at the fast one's time too: the old holder has lost it.
      expect(await now.renew("k:1", { as: "holder", ttl: "30m" })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
      if (held.ok && taken.ok) {
        expect(taken.claim.token).toBeGreaterThan(held.claim.token);
        expect(await now.check("k:1", held.claim.token)).toMatchObject({ ok: false });
      }
    } finally {
      await now.close();
      await ahead.close();
    }
  });
});

/**
 * Linearizability: 8 OS processes race claim, release and complete on 3 hot keys, each
 * recording when it invoked every operation and when the answer came (the machine's
 * monotonic clock); each key's history must be linearizable against the per-key lock
 * model (one holder at a time, tokens growing), checked by a real search
 * (test/linearizability.ts). On SQLite and on PostgreSQL.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { TARGETS } from "./contract/targets.js";
import { LIB, ROOT, runScript, startLine } from "./helpers.js";
import { checkLinearizable, type HistoryOp, LOCK_MODEL, type LockInput, type LockOutput } from "./linearizability.js";

const WORKER = join(ROOT, "test", "workers", "lin-worker.mjs");
const PROCESSES = 8;
const OPS = 30;
const KEYS = 3;

interface Recorded {
  process: string;
  op: LockInput["op"];
  key: string;
  invoke: number;
  ret: number;
  output: LockOutput;
}

const h = (
  process: string,
  invoke: number,
  ret: number,
  op: LockInput["op"],
  output: LockOutput,
): HistoryOp<LockInput, LockOutput> => ({
  process,
  invoke,
  ret,
  input: { op, agent: process },
  output,
});

describe("the checker itself", () => {
  it("accepts concurrent grants that can be ordered, and rejects two overlapping holders or a token going back", () => {
    const grant = (agent: string, token: number) => ({ outcome: "granted" as const, holder: agent, token });
    // a's claim and b's denial overlap in time: b's denial can be ordered after a's grant.
    expect(
      checkLinearizable(
        [h("a", 0, 10, "claim", grant("a", 1)), h("b", 1, 5, "claim", { outcome: "denied", holder: "a", token: 1 })],
        LOCK_MODEL,
      ).ok,
    ).toBe(true);
    // Two grants with nothing released in between: never linearizable.
    expect(
      checkLinearizable([h("a", 0, 10, "claim", grant("a", 1)), h("b", 1, 5, "claim", grant("b", 2))], LOCK_MODEL).ok,
    ).toBe(false);
    // Release then grant in real time, but the later grant has a lower token.
    const back = [
      h("a", 0, 1, "claim", grant("a", 5)),
      h("a", 2, 3, "release", { ok: true, code: null }),
      h("b", 4, 5, "claim", grant("b", 3)),
    ];
    expect(checkLinearizable(back, LOCK_MODEL).ok).toBe(false);
    // b's denial returned before a's grant was invoked: it cannot name a as the holder.
    expect(
      checkLinearizable(
        [h("b", 0, 1, "claim", { outcome: "denied", holder: "a", token: 1 }), h("a", 2, 3, "claim", grant("a", 1))],
        LOCK_MODEL,
      ).ok,
    ).toBe(false);
  });
});

describe.each(TARGETS)("linearizable histories on $name", (target) => {
  it(`${PROCESSES} processes x ${OPS} operations on ${KEYS} hot keys: every key's history is linearizable against the lock model`, async () => {
    const options = target.batonOptions();
    const setup = await openBaton(options); // create the schema before the race
    await setup.close();
    const start = startLine(PROCESSES);
    const outputs = await start.release(
      Array.from({ length: PROCESSES }, (_, i) =>
        runScript(WORKER, [
          pathToFileURL(LIB).href,
          JSON.stringify(options),
          `p${i}`,
          String(OPS),
          String(KEYS),
          start.dir,
        ]),
      ),
    );
    const history = outputs.flatMap((out) => JSON.parse(out.trim()) as Recorded[]);
    expect(history).toHaveLength(PROCESSES * OPS);
    const grants = history.filter((r) => "outcome" in r.output && r.output.outcome === "granted");
    const tokens = grants.map((r) => (r.output as { token: number }).token);
    expect(new Set(tokens).size).toBe(tokens.length);
    let explored = 0;
    for (let k = 0; k < KEYS; k++) {
      const ops = history.filter((r) => r.key === `hot:${k}`).map((r) => h(r.process, r.invoke, r.ret, r.op, r.output));
      const result = checkLinearizable(ops, LOCK_MODEL);
      explored += result.explored;
      expect(result, `hot:${k}: ${ops.length} operations`).toMatchObject({ ok: true });
    }
    // How many operations were in flight at once (the race was real).
    const edges = history
      .flatMap((r) => [[r.invoke, 1] as const, [r.ret, -1] as const])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let inFlight = 0;
    let most = 0;
    for (const [, d] of edges) most = Math.max(most, (inFlight += d));
    console.log(
      `${target.name}: ${history.length} operations, ${grants.length} grants, up to ${most} in flight at once, ${explored} states explored`,
    );
  });
});

/**
 * A linearizability checker (Wing & Gong's search with Lowe's memoisation, as in
 * Jepsen's Knossos "WGL"): is there a total order of the operations, consistent with
 * real time (an operation that returned before another was invoked comes first), in
 * which every operation's answer is what a sequential model gives? Used by
 * test/reliability-linearizability.test.ts on histories recorded from real processes.
 */

/** One completed operation: invoked at `invoke`, answered at `ret` (same clock). */
export interface HistoryOp<I, O> {
  readonly process: string;
  readonly invoke: number;
  readonly ret: number;
  readonly input: I;
  readonly output: O;
}

/** A sequential specification: `step` answers the next state, or undefined when `output` is impossible. */
export interface SequentialModel<S, I, O> {
  readonly init: S;
  step(state: S, input: I, output: O): S | undefined;
  /** A string identifying the state, for memoisation. */
  key(state: S): string;
}

export type CheckResult =
  | { readonly ok: true; readonly explored: number }
  | { readonly ok: false; readonly explored: number; readonly longestPrefix: number };

/** Check `history` against `model`. Exponential in the worst case; keep histories small. */
export function checkLinearizable<S, I, O>(
  history: readonly HistoryOp<I, O>[],
  model: SequentialModel<S, I, O>,
): CheckResult {
  const ops = [...history].sort((a, b) => a.invoke - b.invoke);
  const n = ops.length;
  const seen = new Set<string>();
  const done = new Array<boolean>(n).fill(false);
  let explored = 0;
  let longest = 0;
  const search = (state: S, count: number): boolean => {
    if (count === n) return true;
    longest = Math.max(longest, count);
    // The next operation can be any pending one invoked before the earliest pending return.
    let minRet = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) if (!done[i]) minRet = Math.min(minRet, (ops[i] as HistoryOp<I, O>).ret);
    for (let i = 0; i < n; i++) {
      const op = ops[i] as HistoryOp<I, O>;
      if (op.invoke > minRet) break;
      if (done[i]) continue;
      const next = model.step(state, op.input, op.output);
      if (next === undefined) continue;
      done[i] = true;
      const memo = `${done.map((d) => (d ? 1 : 0)).join("")}|${model.key(next)}`;
      if (!seen.has(memo)) {
        seen.add(memo);
        explored++;
        if (search(next, count + 1)) return true;
      }
      done[i] = false;
    }
    return false;
  };
  const ok = search(model.init, 0);
  return ok ? { ok: true, explored } : { ok: false, explored, longestPrefix: longest };
}

/** What the lin-worker records: a claim's answer, or release/complete's. */
export type LockInput = { readonly op: "claim" | "release" | "complete"; readonly agent: string };
export type LockOutput =
  | {
      readonly outcome: "granted" | "renewed" | "denied" | "done";
      readonly holder: string | null;
      readonly token: number | null;
    }
  | { readonly ok: boolean; readonly code: string | null };
export interface LockState {
  readonly holder: string | null;
  readonly token: number;
}

/**
 * One key as a lock with fencing tokens (long leases, claims with reopen): one holder at a
 * time; a grant only when free, with a token greater than every earlier one; mine again →
 * renewed with the same token; another's → denied naming the holder; release and complete
 * only by the holder (NOT_FOUND before the first grant).
 */
export const LOCK_MODEL: SequentialModel<LockState, LockInput, LockOutput> = {
  init: { holder: null, token: 0 },
  step(state, input, output) {
    if (input.op === "claim") {
      if (!("outcome" in output)) return undefined;
      if (output.outcome === "granted") {
        return state.holder === null &&
          output.token !== null &&
          output.token > state.token &&
          output.holder === input.agent
          ? { holder: input.agent, token: output.token }
          : undefined;
      }
      if (output.outcome === "renewed")
        return state.holder === input.agent && output.token === state.token ? state : undefined;
      if (output.outcome === "denied") {
        return state.holder !== null &&
          state.holder !== input.agent &&
          output.holder === state.holder &&
          output.token === state.token
          ? state
          : undefined;
      }
      return undefined; // "done" cannot happen with reopen
    }
    if (!("ok" in output)) return undefined;
    if (output.ok) return state.holder === input.agent ? { holder: null, token: state.token } : undefined;
    if (state.holder === input.agent) return undefined;
    return (output.code === "NOT_FOUND") === (state.token === 0) ? state : undefined;
  },
  key: (state) => `${state.holder ?? ""}#${state.token}`,
};

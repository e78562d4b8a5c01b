/**
 * Blocker validation for the backlog, pure: given the blockers a write adds and the
 * blocker graph reachable from them (as the store holds it inside the write's
 * transaction), say whether a blocker is unknown or the write closes a cycle.
 * Only what the write adds is judged, so a task stored before this check (with an
 * unknown blocker, say) can still be marked done or edited.
 */

/** One blocker a write adds: task `id` is to be blocked by `blocker`. */
export interface AddedBlocker {
  readonly id: string;
  readonly blocker: string;
}

/** Why a write's blockers are refused. */
export type BlockerProblem =
  | { readonly code: "BLOCKER_UNKNOWN"; readonly id: string; readonly blocker: string }
  | { readonly code: "BLOCKER_CYCLE"; readonly id: string; readonly cycle: readonly string[] };

/**
 * Of `ids`, those whose blockers are still to be read: not in `graph`, not known
 * missing, each once. A store reads the graph breadth-first: first the ids and blockers
 * of `added`, then the blockers of each round's rows, until this returns nothing — so
 * each task is read once.
 */
export function toRead(
  ids: Iterable<string>,
  graph: ReadonlyMap<string, readonly string[]>,
  missing: ReadonlySet<string>,
): string[] {
  const want = new Set<string>();
  for (const id of ids) if (!graph.has(id) && !missing.has(id)) want.add(id);
  return [...want];
}

/** Where the graph walk starts: every task the write adds a blocker to, and those blockers. */
export function startIds(added: readonly AddedBlocker[]): string[] {
  return added.flatMap((a) => [a.id, a.blocker]);
}

/**
 * The first problem with `added`, or null. `graph` maps each known task id to its
 * blockers after the write (every id reachable from `added`); an id absent from it does
 * not exist. A cycle is reported from a task the write changed, e.g. `[a, b, a]`.
 */
export function blockerProblem(
  added: readonly AddedBlocker[],
  graph: ReadonlyMap<string, readonly string[]>,
): BlockerProblem | null {
  for (const a of added) if (!graph.has(a.blocker)) return { code: "BLOCKER_UNKNOWN", id: a.id, blocker: a.blocker };
  // Every new cycle runs through an added edge a.id -> a.blocker: look for a path back
  // from a.blocker to a.id (iterative depth-first, each node once per start).
  const starts = new Map<string, string[]>();
  for (const a of added) starts.set(a.id, [...(starts.get(a.id) ?? []), a.blocker]);
  for (const [id, firsts] of starts) {
    const parent = new Map<string, string>();
    const stack = [...firsts].reverse();
    for (const f of firsts) parent.set(f, id);
    const seen = new Set<string>(firsts);
    while (stack.length > 0) {
      const node = stack.pop() as string;
      if (node === id) {
        const cycle = [id];
        for (let at = parent.get(id) as string; at !== id; at = parent.get(at) as string) cycle.push(at);
        // `cycle` walks back from id; the path id -> … -> id reads the other way.
        return { code: "BLOCKER_CYCLE", id, cycle: [id, ...cycle.slice(1).reverse(), id] };
      }
      const nexts = graph.get(node) ?? [];
      if (nexts.includes(id)) {
        parent.set(id, node);
        stack.push(id);
        continue;
      }
      // Reversed, so a task's first blocker is followed first: the cycle named is the one the list suggests.
      for (const next of [...nexts].reverse()) {
        if (seen.has(next)) continue;
        seen.add(next);
        parent.set(next, node);
        stack.push(next);
      }
    }
  }
  return null;
}

/**
 * A repository's root commit, read from the output of
 * `git log --max-parents=0 --format=%H%x1f%ct%x1f%D HEAD --`. Pure: the callers run git.
 */

/** What the root-commit listing says. */
export type RootCommit =
  | { readonly kind: "root"; readonly hash: string }
  /** No root listed (for example an empty output). */
  | { readonly kind: "none" }
  /** A shallow clone: the oldest commit it has is a graft, not the root. */
  | { readonly kind: "shallow"; readonly at: string };

/** The pretty format the listing must be made with (git's `--format=` value). */
export const ROOT_COMMIT_PRETTY = "%H%x1f%ct%x1f%D";

/**
 * The root commit: when history has several roots, the one with the oldest commit
 * date, then the smallest hash, so every clone picks the same one.
 */
export function pickRootCommit(stdout: string): RootCommit {
  let best: { hash: string; time: number } | null = null;
  for (const line of stdout.split("\n")) {
    if (line.length === 0) continue;
    const [hash = "", time = "0", decoration = ""] = line.split("\x1f");
    if (decoration.split(", ").includes("grafted")) return { kind: "shallow", at: hash };
    const t = Number(time);
    if (best === null || t < best.time || (t === best.time && hash < best.hash)) best = { hash, time: t };
  }
  return best === null ? { kind: "none" } : { kind: "root", hash: best.hash };
}

/** git's complaint when HEAD names no commit yet (an unborn branch). */
export const UNBORN_HEAD = /does not have any commits yet|bad (default )?revision 'HEAD'|ambiguous argument 'HEAD'/i;

/**
 * The operation context of a server's requests: the acting agent (from the token), the
 * server's folder, and its repository identity found once (a server's folder does not
 * change while it runs), so `next` runs no git process per request.
 */
import type { OperationContext } from "../../api/catalogue.js";
import { repositoryId } from "../../workspace/checkout.js";

/**
 * A function giving the context for an agent's request; `known` answers at once for an agent
 * seen before (undefined otherwise), so the hot path awaits nothing for it.
 */
export type ServerContext = ((agent: string) => Promise<OperationContext>) & {
  readonly known: (agent: string) => OperationContext | undefined;
};

/** The context for requests served from `cwd` (default: the process's folder). */
export function serverContext(cwd: string = process.cwd()): ServerContext {
  let repo: Promise<string | null> | undefined;
  // One context object per agent, built once (a fleet has tens of agents, not millions).
  const contexts = new Map<string, OperationContext>();
  const context = async (agent: string): Promise<OperationContext> => {
    const known = contexts.get(agent);
    if (known !== undefined) return known;
    // Not a repository: null, final (next's candidates have no repository; git is not asked again).
    const id = await (repo ??= repositoryId({ cwd }).catch(() => null));
    const context: OperationContext = { agent, cwd, local: false, repo: id };
    if (contexts.size < 10_000) contexts.set(agent, context);
    return context;
  };
  return Object.assign(context, { known: (agent: string) => contexts.get(agent) });
}

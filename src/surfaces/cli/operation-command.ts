/**
 * Runs a command generated from the operation catalogue (src/surfaces/cli/operations.ts):
 * the arguments and flags become the operation's input by the entry's metadata (checked by
 * the parsers the library runs, before anything is opened: bad input touches nothing), then
 * one path — the library on a registry here, or `baton serve` through BATON_URL — then the
 * entry's render. Loaded only when such a command runs.
 */
import type { OperationName } from "../../api/catalogue.js";
import { parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import { parseAgent, parseKey } from "../../core/identity.js";
import { parseCommit, parseMeta, parseText } from "../../core/schemas.js";
import { parseNoteText } from "../../services/claims.js";
import { type CliConfig, requireAgent } from "./config.js";
import type { CliFlag, CliOperation, Flags, Prepared, Rendered, TextParser } from "./operation-spec.js";
import { CLI_OPERATIONS } from "./operations.js";
import { emit, emitNo } from "./output.js";
import { inLibraryOrder, libraryAnswer } from "./remote.js";
import { remoteUnsupported, withSession } from "./session.js";

/** The property commander stores a flag under: `--dry-run` is `dryRun`, `--no-fetch` is `fetch`. */
export function flagAttribute(flag: string): string {
  return flag.replace(/^--/, "").replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Check and convert one value. The gate and task parsers are loaded only for the commands
 * that take such a value (their services' modules are larger than a claim needs).
 */
async function parseWith(parser: TextParser | undefined, value: string, name: string): Promise<unknown> {
  switch (parser) {
    case undefined:
      return value;
    case "key":
      return parseKey(value);
    case "agent":
      return parseAgent(value);
    case "task-id":
      return (await import("../../services/tasks.js")).parseTaskId(value);
    case "gate-key":
      return (await import("../../services/gates.js")).gateKey(value);
    case "text":
      return parseText(value, name) ?? undefined;
    case "commit":
      return parseCommit(value) ?? undefined;
    case "note":
      return parseNoteText(value);
  }
}

/** `a, b or c`. */
function either(choices: readonly string[]): string {
  return choices.length < 2 ? choices.join("") : `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`;
}

/** A bad value of flag `f`, worded by its metadata (`why`: what a valid value is, by default). */
function refused(f: CliFlag, value: unknown, why: string): BatonError {
  const invalid = f.refusal?.invalid ?? why;
  return new BatonError(
    f.refusal?.code ?? "BAD_OPTION",
    `invalid ${f.refusal?.name ?? f.flag} ${JSON.stringify(value)}${invalid === "" ? "" : `: ${invalid}`}`,
  );
}

/** A flag's text as its input field's value (undefined: leave the field out). */
async function flagValue(f: CliFlag, raw: unknown): Promise<unknown> {
  switch (f.type) {
    case "boolean":
      if (f.negate === true) return raw === false ? false : undefined;
      return raw === true ? true : undefined;
    case "string":
      return parseWith(f.parse, String(raw), f.flag);
    case "number": {
      const text = String(raw).trim();
      const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
      const min = f.min ?? 0;
      if (!Number.isSafeInteger(value) || value < min || (f.max !== undefined && value > f.max)) {
        throw refused(f, raw, `an integer ${f.max === undefined ? `${min} or more` : `from ${min} to ${f.max}`}`);
      }
      return value;
    }
    case "duration":
      return `${parseDuration(String(raw), { name: f.flag })}ms`;
    case "json":
      return parseMeta(raw) ?? undefined;
    case "enum": {
      const value = String(raw);
      if (f.choices !== undefined && !f.choices.includes(value)) throw refused(f, value, `use ${either(f.choices)}`);
      return value;
    }
    case "list": {
      const items = Array.isArray(raw)
        ? raw.map(String)
        : String(raw)
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s.length > 0);
      for (const item of items) {
        if (f.choices !== undefined && !f.choices.includes(item))
          throw refused(f, item, `use one of ${f.choices.join(", ")}`);
      }
      return Promise.all(items.map((item) => parseWith(f.parse, item, f.flag)));
    }
  }
}

/** The call the command line asks for, decided before anything is opened. */
async function prepare(
  spec: CliOperation,
  args: readonly unknown[],
  flags: Flags,
  config: CliConfig,
): Promise<Prepared> {
  const given = (f: CliFlag): boolean => flags[flagAttribute(f.flag)] !== undefined;
  for (const [a, b] of spec.conflicts ?? []) {
    if (flags[flagAttribute(a)] !== undefined && flags[flagAttribute(b)] !== undefined)
      throw new BatonError("BAD_OPTION", `${a} and ${b} cannot be used together`);
  }
  for (const f of spec.flags ?? []) {
    if (typeof f.required === "string" && !given(f)) throw new BatonError("BAD_INPUT", f.required);
  }
  const input: Record<string, unknown> = {};
  const positional = spec.args ?? [];
  for (const [i, a] of positional.entries()) {
    const raw = args[i];
    if (raw === undefined || a.field === undefined) continue;
    input[a.field] = Array.isArray(raw)
      ? await Promise.all(raw.map((v) => parseWith(a.parse, String(v), a.name)))
      : await parseWith(a.parse, String(raw), a.name);
  }
  let agent: string | undefined;
  if (spec.agent === true) agent = requireAgent(config, spec.words);
  else if (spec.agent !== undefined && flags[spec.agent.when] === true) agent = requireAgent(config, spec.agent.words);
  for (const f of spec.flags ?? []) {
    if (f.field === undefined) continue;
    const raw = flags[flagAttribute(f.flag)];
    const value = raw === undefined ? f.default : await flagValue(f, raw);
    if (value !== undefined) input[f.field] = value;
  }
  const prepared: Prepared = { input: input as Prepared["input"], agent, flags, config, extra: {} };
  await spec.prepare?.(prepared as never);
  return prepared;
}

function print(json: boolean, out: Rendered): void {
  const mode = { json };
  if (out.ok) emit(mode, out.json, out.text);
  else emitNo(mode, out.json, typeof out.text === "function" ? out.text() : out.text);
}

/** Run the catalogue operation `name` with the command line's positional arguments and flags. */
export async function runOperation(name: OperationName, args: unknown[], flags: Flags): Promise<void> {
  const spec = CLI_OPERATIONS[name] as CliOperation;
  if (spec.handler !== undefined) return spec.handler(args, flags);
  const delegated = spec.delegate?.(args, flags);
  if (delegated !== undefined) return delegated;
  return withSession(
    flags,
    (config) => prepare(spec, args, flags, config),
    async (session, p) => {
      let answer: unknown;
      if (session.api !== null) {
        await spec.beforeServer?.(p as never);
        const here = (spec.flags ?? []).filter(
          (f) => f.localOnly === true && flags[flagAttribute(f.flag)] !== undefined,
        );
        if (here.length > 0) throw remoteUnsupported(`baton ${spec.words} ${either(here.map((f) => f.flag))}`);
        const api = session.api;
        const call = async (): Promise<unknown> => {
          const result = await api.call(name, p.input as never);
          return spec.fromServer === undefined ? libraryAnswer(result) : spec.fromServer(result, p as never);
        };
        answer = spec.remote === undefined ? await call() : await spec.remote(api, p as never, call);
        if (answer === undefined) return; // printed as it went (log --follow)
      } else {
        if (spec.local === undefined) throw new BatonError("INTERNAL", `${spec.words} has no local run`);
        answer = await spec.local(session.baton, p as never);
        if (answer === undefined) return; // printed as it went (log --follow)
      }
      const plain = answer as { ok: boolean; message: string };
      print(
        session.mode.json,
        spec.render === undefined
          ? { ok: plain.ok, json: inLibraryOrder(plain), text: plain.message }
          : spec.render(answer as never, p as never),
      );
    },
  );
}

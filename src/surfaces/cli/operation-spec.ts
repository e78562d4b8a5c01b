/**
 * The shape of the CLI's half of the operation catalogue (src/surfaces/cli/operations.ts):
 * for each catalogue operation, the command words, its arguments and flags as input fields,
 * and how its answer is rendered. Types only: nothing here is evaluated at run time, and
 * nothing loads zod (the catalogue is imported for its types alone).
 */
import type { OperationInput, OperationName, OperationResult } from "../../api/catalogue.js";
import type { HttpBatonApi } from "../../api/http-client.js";
import type { Baton } from "../../baton.js";
import type { CliConfig } from "./config.js";

/**
 * How an argument's or a flag's text is checked and converted before anything is opened,
 * by the same parsers the library runs (src/core, src/services), so bad input touches nothing:
 * `key`, `agent`, `task-id`, `gate-key` (a key, `gate:` added), `text` (free text named by
 * the flag), `commit`, `note` (non-empty note text).
 */
export type TextParser = "key" | "agent" | "task-id" | "gate-key" | "text" | "commit" | "note";

/** A positional argument: `<key>`, `[key]`, `<patterns...>`. */
export interface CliArgument {
  /** Its name in `--help` and the docs (`key`, `patterns`). */
  readonly name: string;
  /** The input field it sets (absent: read by a hand-written handler). */
  readonly field?: string;
  readonly description?: string;
  readonly optional?: boolean;
  /** Takes every remaining word (a list). */
  readonly variadic?: boolean;
  readonly parse?: TextParser;
}

/**
 * A flag and the input field it sets. `type` says how its text becomes the field's value:
 * - `string`: as given (checked by `parse` when set);
 * - `number`: an integer from `min` to `max`;
 * - `boolean`: a switch (true when given; `negate` for a `--no-…` flag that defaults on);
 * - `duration`: `30s`, `15m`, `2h` (a bare number is minutes), sent as milliseconds text;
 * - `json`: a JSON object;
 * - `list`: several values (`variadic`: `--paths a b`; otherwise comma-separated), each
 *   one of `choices` when given;
 * - `enum`: one of `choices`.
 */
export interface CliFlag {
  /** `--ttl`, `--dry-run` (the input field defaults to its camelCase name only via `field`). */
  readonly flag: string;
  /** The value's name in `--help` (`duration`, `json`); absent for a switch. */
  readonly value?: string;
  /** The input field it sets. Absent: a CLI-only flag, read by the entry's own hooks. */
  readonly field?: string;
  readonly type: "string" | "number" | "boolean" | "duration" | "json" | "list" | "enum";
  readonly description?: string;
  readonly choices?: readonly string[];
  readonly parse?: TextParser;
  readonly min?: number;
  readonly max?: number;
  /** The field's value when the flag is absent. */
  readonly default?: unknown;
  /** The default commander shows and passes (`--remote <name>` defaults to `origin`). */
  readonly commanderDefault?: string;
  /** A `--no-…` switch: the field is false when it is given. */
  readonly negate?: boolean;
  /** Several values after the flag (`--paths a b c`). */
  readonly variadic?: boolean;
  /** Commander refuses the call without it (BAD_OPTION). A text: refused with that BAD_INPUT message. */
  readonly required?: true | string;
  /** Only on a registry here: through a server (BATON_URL) the command says REMOTE_UNSUPPORTED. */
  readonly localOnly?: boolean;
  /** `-q` for `--quiet`. */
  readonly short?: string;
  /**
   * How a refusal of a bad value reads: `invalid <name> "<value>": <invalid>`. `name` defaults
   * to the flag, `invalid` to the choices or the range (`""`: nothing after the value).
   */
  readonly refusal?: { readonly name?: string; readonly invalid?: string; readonly code?: "BAD_INPUT" | "BAD_OPTION" };
}

/** Flags every command has, and the CLI-only ones, as commander parsed them. */
export type Flags = Record<string, unknown> & {
  readonly json?: boolean;
  readonly as?: string;
};

/** What a rendered answer prints: `ok` false is the expected "no" (exit 1). */
export interface Rendered {
  readonly ok: boolean;
  /** The `--json` object. */
  readonly json: unknown;
  /** The human text (a function: built only when printed). */
  readonly text: string | (() => string);
}

/** A call prepared from the command line: the operation's input, and what the CLI decided. */
export interface Prepared<N extends OperationName = OperationName> {
  readonly input: OperationInput<N> & Record<string, unknown>;
  /** The acting agent (`undefined` when the operation needs none and none is set). */
  readonly agent: string | undefined;
  readonly flags: Flags;
  readonly config: CliConfig;
  /** What an entry's `prepare` hook adds (marker folders and the like). */
  readonly extra: Record<string, unknown>;
}

/** The CLI for one catalogue operation. */
export interface CliOperation<N extends OperationName = OperationName> {
  /** The command words: `claim`, `gate check`, `task add`. */
  readonly words: string;
  /** One line in `--help` (the catalogue's summary is for tool callers). */
  readonly summary: string;
  readonly args?: readonly CliArgument[];
  readonly flags?: readonly CliFlag[];
  /** Pairs of flags that cannot be given together (BAD_OPTION). */
  readonly conflicts?: readonly (readonly [string, string])[];
  /**
   * Needs an agent (MISSING_AGENT, naming the command): always, or only when an input
   * switch is on (`list --mine`).
   */
  readonly agent?: true | { readonly when: string; readonly words: string };
  /**
   * A command whose work is on this machine (git, the working tree, the rules file): its
   * hand-written handler, given the positional arguments and the flags. The command is
   * still declared from this entry.
   */
  readonly handler?: (args: unknown[], flags: Flags) => Promise<void>;
  /**
   * The handler also runs through a server: it reads the checkout here (the repository
   * identity and repository-relative patterns, the rules file) and sends what it read.
   */
  readonly throughServer?: true;
  /** Another handler for some calls (`claim --paths`); undefined: the generated path. */
  readonly delegate?: (args: unknown[], flags: Flags) => Promise<void> | undefined;
  /** Decide what the flags alone cannot say (defaults from the configuration, marker folders). */
  readonly prepare?: (p: Prepared<N>) => void | Promise<void>;
  /** Refuse, before any request, what a server cannot do (REMOTE_UNSUPPORTED). */
  readonly beforeServer?: (p: Prepared<N>) => void | Promise<void>;
  /**
   * Through a server, when one call is not the whole command (`log --follow`): `call` makes the
   * usual one (its answer as the library's). The answer to print (undefined: printed already).
   */
  readonly remote?: (api: HttpBatonApi, p: Prepared<N>, call: () => Promise<unknown>) => Promise<unknown>;
  /** Run on a registry here: the library's answer (undefined: the entry printed it already). */
  readonly local?: (baton: Baton, p: Prepared<N>) => Promise<unknown>;
  /**
   * The server's answer as the library's (every command prints the same `--json` either way).
   * Default: `libraryAnswer` (src/surfaces/cli/remote.ts): the answer's `data` fields with `ok`, `code`, `message`.
   */
  readonly fromServer?: (result: OperationResult, p: Prepared<N>) => unknown;
  /** How the answer prints. Default: `ok` and `message` of the answer, the answer as JSON (`inLibraryOrder`). */
  readonly render?: (answer: never, p: Prepared<N>) => Rendered;
}

/** The CLI of every catalogue operation: the compiler refuses a catalogue entry without one. */
export type CliOperations = { readonly [N in OperationName]: CliOperation<N> };

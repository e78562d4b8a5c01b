/**
 * CLI configuration: flags > environment > config file > defaults, resolved once
 * and frozen. The library never reads the environment; this module does, for it.
 *
 * Environment:
 *   BATON_AGENT          agent name for --as
 *   BATON_DB             SQLite database file
 *   XDG_STATE_HOME       where default registries live (read by the library's default location)
 *   BATON_DATABASE_URL   PostgreSQL URL (use the shared PostgreSQL store)
 *   BATON_PG_SCHEMA      PostgreSQL schema (default baton)
 *   BATON_BUSY_TIMEOUT   lock wait before STORE_BUSY (e.g. 5s)
 *   BATON_SQLITE_SYNC    full (default) | normal
 *   BATON_MARKER_DIR     folder of gate marker files
 *   BATON_CONFIG         path of a JSON config file (default: nearest .baton/config.json)
 *   BATON_URL            a baton serve to use instead of opening a registry (with BATON_TOKEN)
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BatonError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import { parseAgent } from "../../core/identity.js";

/** The environment variables the CLI reads, for `--help`. */
export const ENVIRONMENT_HELP = `Environment:
  BATON_AGENT           agent name when --as is not given
  BATON_DB              SQLite database file (default: one per repository, shared by its clones
                        and worktrees, in $XDG_STATE_HOME/baton/; outside a repository the nearest
                        .baton/baton.db up the tree, else $XDG_STATE_HOME/baton/default/baton.db;
                        baton db status says which and why)
  XDG_STATE_HOME        where the default registries live (default ~/.local/state)
  BATON_DATABASE_URL    postgres://user:pass@host:5432/db: use PostgreSQL instead of SQLite
  BATON_PG_SCHEMA       PostgreSQL schema holding Baton's tables (default baton)
  BATON_BUSY_TIMEOUT    how long to wait for a locked store before exit 3 (default 5s)
  BATON_STATEMENT_TIMEOUT  PostgreSQL: longest a statement may run before exit 3 (default 30s)
  BATON_SQLITE_SYNC     full (default) or normal: trade durability for speed
  BATON_SIMILAR         near-duplicate check on claim: warn (default), strict, off
  BATON_MARKER_DIR      folder where gate marks are also written as files (can be committed)
  BATON_CONFIG          JSON config file (default: the nearest .baton/config.json)
  BATON_URL             http://HOST:PORT of a baton serve: registry commands go through it
                        (workspace parts - git, hooks, child processes - still run here)
  BATON_TOKEN           the bearer token for BATON_URL (baton tokens add AGENT); it decides the agent
  BATON_HOOK_DEADLINE   baton hook: answer as failed after this long (default 10s)

Exit codes: 0 done, 1 denied / not held / already done, 2 bad input,
            3 store unavailable, 4 internal error.
`;

interface ConfigFile {
  agent?: string | undefined;
  db?: string | undefined;
  databaseUrl?: string | undefined;
  pgSchema?: string | undefined;
  markerDir?: string | undefined;
  similar?: "warn" | "strict" | "off" | undefined;
  rulesFile?: string | undefined;
  importLabels?: Record<string, { category?: string | undefined; priority?: number | undefined }> | undefined;
  statementTimeout?: string | number | undefined;
  busyTimeout?: string | number | undefined;
  sqliteSync?: "full" | "normal" | undefined;
  defaultTtl?: string | number | undefined;
  claimOnEdit?: "all" | "protected" | "off" | undefined;
  protectedPaths?: string[] | undefined;
  writeScopes?: Record<string, string[]> | undefined;
  hookFailure?: "open" | "closed" | undefined;
  hookBudget?: number | undefined;
  editTtl?: string | number | undefined;
}

/** The resolved settings a command runs with. */
export interface CliConfig {
  readonly agent: string | undefined;
  readonly db: string | undefined;
  /** PostgreSQL URL; when set, `db` is undefined. */
  readonly databaseUrl: string | undefined;
  readonly pgSchema: string | undefined;
  /** Folder of gate marker files (absolute). */
  readonly markerDir: string | undefined;
  /** PostgreSQL statement timeout (e.g. `30s`). */
  readonly statementTimeout: string | number | undefined;
  /** How imported GitHub labels map to task categories and priorities. */
  readonly importLabels: Record<string, { category?: string | undefined; priority?: number | undefined }> | undefined;
  /** The operating rules file (absolute), when configured. */
  readonly rulesFile: string | undefined;
  /** Near-duplicate check on claims: warn, strict or off. */
  readonly similar: "warn" | "strict" | "off" | undefined;
  readonly busyTimeout: string | number | undefined;
  readonly sqliteSync: "full" | "normal" | undefined;
  readonly defaultTtl: string | number | undefined;
  /** Harness hooks and the pre-commit guard: which edits claim their files, protected paths, write scopes. */
  readonly harness: HarnessSettings;
  /** The config file that was read, if any. */
  readonly configFile: string | undefined;
  /** Where `db` or `databaseUrl` came from: a flag, the environment, the config file; undefined: the default location. */
  readonly storeFrom: "flag" | "env" | "file" | undefined;
  /** A `baton serve` to call instead of opening a registry (`--url`/`BATON_URL`, `--token`/`BATON_TOKEN`). */
  readonly server: { readonly url: string; readonly token: string | undefined } | undefined;
}

/** The harness-hook settings of `.baton/config.json` (see README, "Harness hooks"). */
export interface HarnessSettings {
  /** Which edits claim their files first: every edited file (default), only protected ones, or none. */
  readonly claimOnEdit: "all" | "protected" | "off";
  /** Globs that must be claimed (by the agent) before they are edited or committed. */
  readonly protectedPaths: readonly string[];
  /** Agent-name pattern (`*` wildcard) -> path globs that agent may write (`<agent>` is its name). */
  readonly writeScopes: Readonly<Record<string, readonly string[]>>;
  /** When the registry cannot be reached: let the edit through (open, default) or refuse it (closed). */
  readonly hookFailure: "open" | "closed";
  /** Character budget of what the session-start hook injects (rules text + context). */
  readonly hookBudget: number;
  /** Lease of a claim taken on edit (renewed on every later edit of the file). */
  readonly editTtl: string | number;
}

/** Defaults of {@link HarnessSettings}. */
export const DEFAULT_HARNESS: HarnessSettings = Object.freeze({
  claimOnEdit: "all",
  protectedPaths: [],
  writeScopes: {},
  hookFailure: "open",
  hookBudget: 8000,
  editTtl: "30m",
});

function findConfigFile(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, ".baton", "config.json");
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(dir, ".git"))) return undefined; // stop at the repository root
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The config file's schema (loads zod: only for files {@link plainlyValid} cannot vouch for). */
export async function configFileSchema() {
  const z = await import("zod/mini");
  return z.strictObject({
    agent: z.optional(z.string()),
    db: z.optional(z.string()),
    databaseUrl: z.optional(z.string()),
    pgSchema: z.optional(z.string()),
    markerDir: z.optional(z.string()),
    similar: z.optional(z.enum(["warn", "strict", "off"])),
    rulesFile: z.optional(z.string()),
    statementTimeout: z.optional(z.union([z.string(), z.number()])),
    importLabels: z.optional(
      z.record(z.string(), z.strictObject({ category: z.optional(z.string()), priority: z.optional(z.number()) })),
    ),
    busyTimeout: z.optional(z.union([z.string(), z.number()])),
    sqliteSync: z.optional(z.enum(["full", "normal"])),
    defaultTtl: z.optional(z.union([z.string(), z.number()])),
    claimOnEdit: z.optional(z.enum(["all", "protected", "off"])),
    protectedPaths: z.optional(z.array(z.string())),
    writeScopes: z.optional(z.record(z.string(), z.array(z.string()))),
    hookFailure: z.optional(z.enum(["open", "closed"])),
    hookBudget: z.optional(z.int().check(z.gte(200), z.lte(1_000_000))),
    editTtl: z.optional(z.union([z.string(), z.number()])),
  });
}

// zod is loaded only when a config file exists: most calls have none, and every
// millisecond of a CLI call is paid by every agent.
async function readConfigFile(path: string): Promise<ConfigFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new BatonError("BAD_CONFIG", `cannot read the config file ${path}: ${(error as Error).message}`);
  }
  // Loading zod costs more than the rest of a hook call; a file of plain known settings
  // needs none of it. Anything else (importLabels, a wrong type) is judged by the schema.
  if (plainlyValid(raw)) return raw as ConfigFile;
  const ConfigFileSchema = await configFileSchema();
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as
      { code: string; path: PropertyKey[]; expected?: string; keys?: string[]; values?: unknown[] } | undefined;
    const where = issue?.path.length ? issue.path.map(String).join(".") : "(top level)";
    const what =
      issue?.code === "unrecognized_keys"
        ? `unknown setting ${issue.keys?.join(", ")} (known: agent, db, databaseUrl, pgSchema, markerDir, similar, rulesFile, importLabels, statementTimeout, busyTimeout, sqliteSync, defaultTtl, claimOnEdit, protectedPaths, writeScopes, hookFailure, hookBudget, editTtl)`
        : issue?.code === "invalid_value"
          ? `expected one of ${issue.values?.map((v) => JSON.stringify(v)).join(", ")}`
          : issue?.expected
            ? `expected ${issue.expected}`
            : "invalid value";
    throw new BatonError("BAD_CONFIG", `invalid config file ${path}: ${where}: ${what}`);
  }
  return parsed.data;
}

const STRING_SETTINGS = new Set(["agent", "db", "databaseUrl", "pgSchema", "markerDir", "rulesFile"]);
const DURATION_SETTINGS = new Set(["statementTimeout", "busyTimeout", "defaultTtl", "editTtl"]);
const ENUM_SETTINGS: Record<string, readonly string[]> = {
  similar: ["warn", "strict", "off"],
  sqliteSync: ["full", "normal"],
  claimOnEdit: ["all", "protected", "off"],
  hookFailure: ["open", "closed"],
};
const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * True only for a config the schema in {@link readConfigFile} surely accepts: known
 * settings of the plain kinds. False means "ask the schema", never "invalid".
 */
export function plainlyValid(raw: unknown): boolean {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return false;
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) return false;
    if (STRING_SETTINGS.has(key)) {
      if (typeof value !== "string") return false;
    } else if (DURATION_SETTINGS.has(key)) {
      if (typeof value !== "string" && !(typeof value === "number" && Number.isFinite(value))) return false;
    } else if (Object.hasOwn(ENUM_SETTINGS, key)) {
      if (!ENUM_SETTINGS[key]?.includes(value as string)) return false;
    } else if (key === "protectedPaths") {
      if (!strings(value)) return false;
    } else if (key === "writeScopes") {
      if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.values(value).every(strings))
        return false;
    } else if (key === "hookBudget") {
      if (!Number.isSafeInteger(value) || (value as number) < 200 || (value as number) > 1_000_000) return false;
    } else return false;
  }
  return true;
}

/** Resolve flags > env > file > defaults. */
export async function resolveConfig(
  flags: {
    as?: string | undefined;
    db?: string | undefined;
    databaseUrl?: string | undefined;
    url?: string | undefined;
    token?: string | undefined;
  },
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<CliConfig> {
  const explicit = env.BATON_CONFIG;
  const configFile = explicit ? resolve(cwd, explicit) : findConfigFile(cwd);
  if (explicit && !existsSync(configFile as string)) {
    throw new BatonError("BAD_CONFIG", `BATON_CONFIG points at ${configFile}, which does not exist`);
  }
  const file = configFile === undefined ? {} : await readConfigFile(configFile);
  const pick = <T>(...values: (T | undefined)[]): T | undefined => values.find((v) => v !== undefined && v !== "");
  const sync = pick(env.BATON_SQLITE_SYNC?.toLowerCase(), file.sqliteSync);
  if (sync !== undefined && sync !== "full" && sync !== "normal") {
    throw new BatonError("BAD_CONFIG", `invalid BATON_SQLITE_SYNC ${JSON.stringify(sync)}: use full or normal`);
  }
  const store = chooseStore(flags, env, file, configFile);
  const db = store.db;
  const fileDir = configFile === undefined ? cwd : dirname(dirname(configFile));
  // Flags first: --db or --database-url on the command line uses a registry here despite BATON_URL.
  const url = store.from === "flag" ? flags.url : pick(flags.url, env.BATON_URL);
  if (url !== undefined && url !== "" && store.from === "flag") {
    throw new BatonError(
      "BAD_OPTION",
      `--url and ${flags.db === undefined ? "--database-url" : "--db"} are both set: use the server or a registry`,
    );
  }
  return Object.freeze({
    agent: pick(flags.as, env.BATON_AGENT, file.agent),
    // A db path in the config file is relative to the folder holding .baton/.
    db: db === undefined ? undefined : resolve(store.from === "file" ? fileDir : cwd, db),
    databaseUrl: store.databaseUrl,
    pgSchema: pick(env.BATON_PG_SCHEMA, file.pgSchema),
    similar: similarMode(pick(env.BATON_SIMILAR, file.similar)),
    importLabels: file.importLabels,
    statementTimeout: setting(
      "statementTimeout",
      "BATON_STATEMENT_TIMEOUT",
      env.BATON_STATEMENT_TIMEOUT,
      file.statementTimeout,
      configFile,
    ),
    rulesFile: file.rulesFile === undefined ? undefined : resolve(fileDir, file.rulesFile),
    markerDir: env.BATON_MARKER_DIR
      ? resolve(cwd, env.BATON_MARKER_DIR)
      : file.markerDir === undefined
        ? undefined
        : resolve(fileDir, file.markerDir),
    busyTimeout: setting(
      "busyTimeout",
      "BATON_BUSY_TIMEOUT",
      env.BATON_BUSY_TIMEOUT,
      file.busyTimeout,
      configFile,
      true,
    ),
    sqliteSync: sync,
    defaultTtl: setting("defaultTtl", null, undefined, file.defaultTtl, configFile),
    harness: Object.freeze({
      claimOnEdit: file.claimOnEdit ?? DEFAULT_HARNESS.claimOnEdit,
      protectedPaths: file.protectedPaths ?? DEFAULT_HARNESS.protectedPaths,
      writeScopes: file.writeScopes ?? DEFAULT_HARNESS.writeScopes,
      hookFailure: file.hookFailure ?? DEFAULT_HARNESS.hookFailure,
      hookBudget: file.hookBudget ?? DEFAULT_HARNESS.hookBudget,
      editTtl: setting("editTtl", null, undefined, file.editTtl, configFile) ?? DEFAULT_HARNESS.editTtl,
    }),
    configFile,
    storeFrom: store.from,
    server:
      url === undefined || url === "" ? undefined : Object.freeze({ url, token: pick(flags.token, env.BATON_TOKEN) }),
  });
}

/**
 * SQLite file or PostgreSQL URL: the first level (flags, env, file) that names
 * either decides; naming both at one level is an error, never a silent pick.
 */
function chooseStore(
  flags: { db?: string | undefined; databaseUrl?: string | undefined },
  env: NodeJS.ProcessEnv,
  file: ConfigFile,
  configFile: string | undefined,
): { db?: string; databaseUrl?: string; from?: "flag" | "env" | "file" } {
  const levels = [
    { from: "flag" as const, db: flags.db, url: flags.databaseUrl, names: "--db and --database-url" },
    { from: "env" as const, db: env.BATON_DB, url: env.BATON_DATABASE_URL, names: "BATON_DB and BATON_DATABASE_URL" },
    { from: "file" as const, db: file.db, url: file.databaseUrl, names: `db and databaseUrl in ${configFile}` },
  ];
  for (const level of levels) {
    const db = level.db === "" ? undefined : level.db;
    const url = level.url === "" ? undefined : level.url;
    if (db !== undefined && url !== undefined) {
      throw new BatonError(
        level.from === "flag" ? "BAD_OPTION" : "BAD_CONFIG",
        `${level.names} are both set: choose a SQLite file or a PostgreSQL URL`,
      );
    }
    if (url !== undefined) {
      if (!/^postgres(ql)?:\/\//.test(url)) {
        throw new BatonError(
          level.from === "flag" ? "BAD_OPTION" : "BAD_CONFIG",
          `the database URL must start with postgres:// or postgresql:// (got ${JSON.stringify(url.slice(0, 40))})`,
        );
      }
      return { databaseUrl: url, from: level.from };
    }
    if (db !== undefined) return { db, from: level.from };
  }
  return {};
}

/**
 * A duration setting from the environment or the config file, checked here so a bad one is
 * BAD_CONFIG naming the variable or the file, not a bare BAD_DURATION later.
 */
function setting(
  key: string,
  variable: string | null,
  fromEnv: string | undefined,
  fromFile: string | number | undefined,
  configFile: string | undefined,
  allowZero = false,
): string | number | undefined {
  const useEnv = fromEnv !== undefined && fromEnv !== "";
  const value = useEnv ? fromEnv : fromFile;
  if (value === undefined) return undefined;
  try {
    parseDuration(typeof value === "number" ? `${value}ms` : value, { name: key, allowZero });
  } catch (error) {
    const where = useEnv ? `${variable} (environment)` : `${key} in ${configFile}`;
    throw new BatonError("BAD_CONFIG", `invalid ${where}: ${(error as Error).message.replace(/^invalid \S+ /, "")}`);
  }
  return value;
}

function similarMode(value: string | undefined): "warn" | "strict" | "off" | undefined {
  if (value === undefined || value === "warn" || value === "strict" || value === "off") return value;
  throw new BatonError("BAD_CONFIG", `invalid BATON_SIMILAR ${JSON.stringify(value)}: use warn, strict or off`);
}

/** What {@link requireAgent} answers through a server without `--as`: the token's agent (never sent). */
export const TOKEN_AGENT = "(the token's agent)";

/** The agent for a mutating command, or a MISSING_AGENT error that says how to set it. */
export function requireAgent(config: CliConfig, command: string): string {
  // Through a server the token decides the agent; a name given (--as) is sent and checked there.
  if (config.server !== undefined) return config.agent === undefined ? TOKEN_AGENT : parseAgent(config.agent);
  if (config.agent === undefined) {
    throw new BatonError(
      "MISSING_AGENT",
      `${command} needs an agent name: pass --as NAME or set BATON_AGENT (e.g. export BATON_AGENT=session-$$)`,
    );
  }
  return parseAgent(config.agent);
}

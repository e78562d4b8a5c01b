/**
 * The stores every contract test runs against: a fresh SQLite file, and a fresh
 * schema on the test PostgreSQL server (see test/setup/postgres.ts).
 * `BATON_TEST_STORE=sqlite` or `=postgres` runs the both-store tests on that store
 * only (`BATON_TEST_STORE=sqlite` needs no PostgreSQL at all). `BATON_TEST_GROUP_COMMIT=1` opens
 * the SQLite stores with group commit (as `baton serve` does), to run the contract through it.
 */
import { join } from "node:path";
import { openPostgresStore } from "../../src/store/postgres/pg-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { afterEach } from "vitest";
import type { BatonApi } from "../../src/api/baton-api.js";
import { HttpBatonApi } from "../../src/api/http-client.js";
import { InProcessBatonApi } from "../../src/api/in-process-api.js";
import { type Baton, openBaton } from "../../src/baton.js";
import type { Store } from "../../src/store/store.js";
import { startServe, tempDir } from "../helpers.js";

export interface StoreTarget {
  readonly name: "sqlite" | "postgres";
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Options for `openBaton` naming a fresh, empty store. */
  batonOptions(): { db: string; groupCommit?: boolean } | { databaseUrl: string; schema: string };
}

const STORES = ["sqlite", "postgres"] as const;
const only = process.env.BATON_TEST_STORE;
if (only !== undefined && only !== "" && !(STORES as readonly string[]).includes(only)) {
  throw new Error(`BATON_TEST_STORE=${only}: use sqlite or postgres (or leave it unset for both)`);
}

/** Whether this run tests `store` (all unless BATON_TEST_STORE names one). */
export function storeSelected(store: StoreTarget["name"]): boolean {
  return only === undefined || only === "" || only === store;
}

let counter = 0;
/** A schema name unique to this process and call. */
export function freshSchema(prefix = "t"): string {
  counter += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

/** The URL of the test PostgreSQL server. */
export function testDatabaseUrl(): string {
  const url = process.env.BATON_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      "BATON_TEST_DATABASE_URL is not set: PostgreSQL is started only for the postgres project (vitest.config.ts): add this test file to it, or skip its PostgreSQL half with storeSelected()",
    );
  }
  return url;
}

const groupCommit = process.env.BATON_TEST_GROUP_COMMIT === "1";

export const sqliteTarget: StoreTarget = {
  name: "sqlite",
  async open() {
    return openSqliteStore({ path: join(tempDir(), "contract.db"), groupCommit });
  },
  batonOptions() {
    return { db: join(tempDir(), "baton.db"), ...(groupCommit ? { groupCommit } : {}) };
  },
};

export const postgresTarget: StoreTarget = {
  name: "postgres",
  async open() {
    return openPostgresStore({ url: testDatabaseUrl(), schema: freshSchema(), poolSize: 4 });
  },
  batonOptions() {
    return { databaseUrl: testDatabaseUrl(), schema: freshSchema() };
  },
};

/**
 * For CLI tests: per store this run tests, its name and a function returning the
 * environment (BATON_DB or BATON_DATABASE_URL + BATON_PG_SCHEMA) of a fresh store.
 */
export function cliStores(label: string): readonly (readonly [StoreTarget["name"], () => Record<string, string>])[] {
  return (
    [
      ["sqlite", () => ({ BATON_DB: join(tempDir(), `${label}.db`) })],
      ["postgres", () => ({ BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: freshSchema(label) })],
    ] as const
  ).filter(([name]) => storeSelected(name));
}

/** The stores this run tests: both, or the one BATON_TEST_STORE names. */
export const TARGETS: readonly StoreTarget[] = [sqliteTarget, postgresTarget].filter((t) => storeSelected(t.name));

/** `fresh()` opens a new, empty store of `target`; every store opened is closed after each test. */
export function freshStores(target: StoreTarget): () => Promise<Store> {
  const open: Store[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });
  return async () => {
    const store = await target.open();
    open.push(store);
    return store;
  };
}

/** A fresh registry reached through {@link BatonApi}, one API per agent. */
export interface ApiSession {
  /** The API acting as `agent` (its own token over HTTP). */
  as(agent: string): BatonApi;
  /** The Baton of the same store, in this process (for setup and for checking what changed). */
  readonly baton: Baton;
  close(): Promise<void>;
}

/** Where the API contract runs: in process on a store, or over HTTP against `baton serve` on it. */
export interface ApiTarget {
  readonly name: string;
  readonly store: StoreTarget["name"];
  /** A fresh, empty registry; `agents` are the agents the test acts as. */
  open(agents: readonly string[]): Promise<ApiSession>;
}

function storeEnv(options: ReturnType<StoreTarget["batonOptions"]>): Record<string, string> {
  return "db" in options
    ? { BATON_DB: options.db }
    : { BATON_DATABASE_URL: options.databaseUrl, BATON_PG_SCHEMA: options.schema };
}

function inProcessTarget(store: StoreTarget): ApiTarget {
  return {
    name: `in-process ${store.name}`,
    store: store.name,
    async open() {
      const baton = await openBaton(store.batonOptions());
      return {
        baton,
        as: (agent) => new InProcessBatonApi(baton, { agent, cwd: tempDir(), local: false }),
        close: () => baton.close(),
      };
    },
  };
}

function httpTarget(store: StoreTarget): ApiTarget {
  return {
    name: `http ${store.name}`,
    store: store.name,
    async open(agents) {
      const options = store.batonOptions();
      const baton = await openBaton(options);
      const tokens = new Map<string, string>();
      for (const agent of agents) tokens.set(agent, (await baton.tokens.add(agent)).token);
      const server = await startServe(storeEnv(options));
      return {
        baton,
        as(agent) {
          const token = tokens.get(agent);
          if (token === undefined) throw new Error(`no token for ${agent}: name it in open()`);
          return new HttpBatonApi({ url: server.url, token });
        },
        async close() {
          await server.stop();
          await baton.close();
        },
      };
    },
  };
}

/** Every API target this run tests: in process and over HTTP, on each selected store. */
export const API_TARGETS: readonly ApiTarget[] = TARGETS.flatMap((store) => [
  inProcessTarget(store),
  httpTarget(store),
]);

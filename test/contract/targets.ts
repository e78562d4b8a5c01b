/**
 * The stores every contract test runs against: a fresh SQLite file, and a fresh
 * schema on the test PostgreSQL server (see test/setup/postgres.ts).
 */
import { join } from "node:path";
import { openPostgresStore } from "../../src/store/postgres/pg-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { afterEach } from "vitest";
import type { Store } from "../../src/store/store.js";
import { tempDir } from "../helpers.js";

export interface StoreTarget {
  readonly name: "sqlite" | "postgres";
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Options for `openBaton` naming a fresh, empty store. */
  batonOptions(): { db: string } | { databaseUrl: string; schema: string };
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
  if (!url) throw new Error("BATON_TEST_DATABASE_URL is not set: the vitest global setup should have started PostgreSQL");
  return url;
}

export const sqliteTarget: StoreTarget = {
  name: "sqlite",
  async open() {
    return openSqliteStore({ path: join(tempDir(), "contract.db") });
  },
  batonOptions() {
    return { db: join(tempDir(), "baton.db") };
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

export const TARGETS: readonly StoreTarget[] = [sqliteTarget, postgresTarget];

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

/**
 * Run before every test file (vitest `setupFiles`), in its worker: the hooks the shared
 * helpers need per file and per test. They live here, not in test/helpers.ts, because a
 * worker that runs several files (`isolate: false`) evaluates helpers.ts only once.
 */
import { afterAll, beforeEach } from "vitest";
import { freshStateHome, removeTempDirs } from "../helpers.js";

// A fresh default-registry folder for this file's top-level code, then one per test.
freshStateHome();
beforeEach(freshStateHome);
afterAll(removeTempDirs);

/**
 * Marker files: one small JSON file per gate mark in a folder that can be committed, so a
 * gate's marks survive a new or lost registry. The gate service reads and writes them
 * through its {@link GateMarkers} port.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BatonError } from "../core/errors.js";
import type { GateMark, GateMarkers } from "../services/gates.js";

/** A folder of marker files. */
export class MarkerDir implements GateMarkers {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    let stat: ReturnType<typeof statSync> | undefined;
    try {
      stat = statSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw this.#bad(error);
    }
    if (stat !== undefined && !stat.isDirectory()) {
      throw new BatonError("BAD_MARKER_DIR", `marker dir ${dir} is not a folder`, { dir });
    }
    if (stat !== undefined) {
      try {
        readdirSync(dir);
      } catch (error) {
        throw this.#bad(error);
      }
    }
  }

  #bad(error: unknown): BatonError {
    return new BatonError("BAD_MARKER_DIR", `marker dir ${this.dir} cannot be read: ${(error as Error).message}`, {
      dir: this.dir,
    });
  }

  /** The marker file of a gate key: readable, safe on every file system, unique by hash. */
  file(key: string): string {
    const readable = key.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80);
    const hash = createHash("sha256").update(key).digest("hex").slice(0, 12);
    return join(this.dir, `${readable}.${hash}.json`);
  }

  read(key: string): GateMark | null {
    let text: string;
    try {
      text = readFileSync(this.file(key), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw this.#bad(error);
    }
    try {
      const raw = JSON.parse(text) as Record<string, unknown>;
      if (raw.key !== key || typeof raw.at !== "string" || typeof raw.agent !== "string") return null;
      return {
        key,
        agent: raw.agent,
        at: new Date(raw.at),
        command: typeof raw.command === "string" ? raw.command : null,
        digest: typeof raw.digest === "string" ? raw.digest : null,
        note: typeof raw.note === "string" ? raw.note : null,
        onceOnly: raw.onceOnly === true,
        source: "marker",
      };
    } catch {
      return null; // a damaged marker is no mark; the registry still decides
    }
  }

  write(mark: GateMark): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const file = this.file(mark.key);
      const { source: _source, ...rest } = mark;
      const body = `${JSON.stringify({ ...rest, at: mark.at.toISOString() }, null, 2)}\n`;
      writeFileSync(`${file}.tmp`, body);
      renameSync(`${file}.tmp`, file);
    } catch (error) {
      throw this.#bad(error);
    }
  }

  remove(key: string): boolean {
    try {
      rmSync(this.file(key));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw this.#bad(error);
    }
  }
}
